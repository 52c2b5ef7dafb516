// The src/linux files behind the kernel seam, without root: keyring,
// sealed, procfs, procfs_pidns, idmap, userns, attrs, netlink, kernel
// itself. What would change the system is recorded (recording_kernel.hpp).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <linux/mempolicy.h>
#include <sys/personality.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "kiln/error.hpp"
#include "kiln/spec.hpp"
#include "linux/kernel.hpp"
#include "linux/inroot.hpp"
#include "linux/keyring.hpp"
#include "linux/netlink.hpp"
#include "linux/process.hpp"
#include "linux/procfs.hpp"
#include "linux/rootfs.hpp"
#include "linux/sealed.hpp"
#include "linux/userns.hpp"
#include "recording_kernel.hpp"
#include "scratch_dir.hpp"

using kiln::test::RecordingKernel;
using kiln::test::ScratchDir;
namespace spec = kiln::spec;
using Calls = std::vector<std::string>;

TEST_CASE("kernel: the fake is used while it lives, the real kernel again after") {
    kiln::kernel::Kernel *real = &kiln::kernel::get();
    {
        RecordingKernel k("");
        CHECK(&kiln::kernel::get() == &k);
        CHECK(kiln::kernel::get().mount("a", "/b", "tmpfs", MS_NOSUID, nullptr) == 0);
        CHECK(k.calls == Calls{"mount a /b tmpfs MS_NOSUID"});
    }
    CHECK(&kiln::kernel::get() == real);
}

TEST_CASE("kernel: signals through the fake are recorded, not sent") {
    RecordingKernel k("");
    auto &kern = kiln::kernel::get();
    CHECK(kern.kill(::getpid(), SIGKILL) == 0);
    int pidfd = kern.pidfd_open(::getpid(), 0);
    REQUIRE(pidfd >= 0);
    CHECK(kern.pidfd_send_signal(pidfd, SIGTERM, nullptr, 0) == 0);
    ::close(pidfd);
    k.fail_when("kill", ESRCH);
    CHECK(kern.kill(12345, 0) == -1);
    CHECK(errno == ESRCH);
    CHECK(k.calls == Calls{"kill " + std::to_string(::getpid()) + " 9", "pidfd_open " + std::to_string(::getpid()),
                           "pidfd_send_signal pidfd:" + std::to_string(::getpid()) + " 15", "kill 12345 0 = " + std::string(std::strerror(ESRCH))});
}

TEST_CASE("keyring: the session keyring _ses.<id> is joined and made searchable") {
    RecordingKernel k("");
    kiln::keyring::join_session("c1", false, false);
    CHECK(k.calls == Calls{"keyctl join _ses.c1"});
    k.calls.clear();
    k.key_description = "keyring;0;0;3f010000;_ses.c1";
    kiln::keyring::join_session("c1", true, false);
    CHECK(k.calls == Calls{"keyctl join _ses.c1", "keyctl describe 42", "keyctl setperm 42 0x3f090000"});
    k.calls.clear();
    kiln::keyring::join_session("c1", true, true);  // user namespace: search for others
    CHECK(k.calls.back() == "keyctl setperm 42 0x3f010008");
}

TEST_CASE("keyring: no keyrings in the kernel is no error; other failures are") {
    RecordingKernel k("");
    k.fail_when("keyctl join", ENOSYS);
    CHECK_NOTHROW(kiln::keyring::join_session("c2", true, false));
    k.fail_when("keyctl join", EDQUOT);
    CHECK_THROWS_WITH(kiln::keyring::join_session("c2", true, false), Catch::Contains("unable to join session keyring"));
    k.key_description = "garbage";
    CHECK_THROWS_WITH(kiln::keyring::join_session("c2", true, false), Catch::Contains("unexpected key description"));
}

TEST_CASE("sealed: a read-only view is a read-only, nosuid, nodev clone of the file") {
    ScratchDir dir;
    std::ofstream(dir.path + "/exe") << "binary";
    kiln::UniqueFd fd(::open((dir.path + "/exe").c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd);
    RecordingKernel k("");
    auto view = kiln::sealed::readonly_view(fd.get(), "exe");
    CHECK(view);
    CHECK(k.calls == Calls{"open_tree " + dir.path + "/exe", "mount_setattr tree:" + dir.path + "/exe set=RDONLY|NOSUID|NODEV"});
}

TEST_CASE("sealed: without mount privilege the view is a sealed copy") {
    ScratchDir dir;
    std::ofstream(dir.path + "/exe") << "binary";
    kiln::UniqueFd fd(::open((dir.path + "/exe").c_str(), O_RDONLY | O_CLOEXEC));
    RecordingKernel k("");
    k.fail_when("open_tree", EPERM);
    auto view = kiln::sealed::readonly_view(fd.get(), "exe");
    REQUIRE(view);
    CHECK(kiln::sealed::is_readonly(view.get()));
    char buf[16] = {};
    CHECK(::pread(view.get(), buf, sizeof buf, 0) == 6);
    CHECK(std::string(buf) == "binary");
    CHECK(k.only("mount_setattr").empty());
}

TEST_CASE("procfs: only the root of a real procfs is taken") {
    CHECK(kiln::procfs::open_root("/proc"));
    ScratchDir dir;
    CHECK_THROWS_WITH(kiln::procfs::open_root(dir.path.c_str()), Catch::Contains("is not the root of a procfs mount"));
    CHECK_THROWS_WITH(kiln::procfs::open_root("/proc/sys"), Catch::Contains("is not the root of a procfs mount"));
}

TEST_CASE("procfs: writes go beneath the handle, through no symlink") {
    auto root = kiln::procfs::open_root("/proc");
    std::string comm = "/proc/" + std::to_string(::getpid()) + "/comm", before;
    std::getline(std::ifstream(comm), before);
    std::string rel = std::to_string(::getpid()) + "/comm";
    kiln::procfs::write(root.get(), rel, "kiln-seam-test");
    std::string after;
    std::getline(std::ifstream(comm), after);
    CHECK(after == "kiln-seam-test");
    kiln::procfs::write(root.get(), rel, before);
    // "self" is a symlink: refused for writes, followed (within procfs) for opens.
    CHECK_THROWS_WITH(kiln::procfs::write(root.get(), "self/comm", "x"), Catch::Contains("not a plain procfs file"));
    CHECK(kiln::procfs::open_file(root.get(), "self/status", O_RDONLY));
    CHECK_THROWS_WITH(kiln::procfs::open_file(root.get(), "../etc/passwd", O_RDONLY), Catch::Contains("/proc/../etc/passwd"));
}

TEST_CASE("procfs_pidns: a detached procfs for another pid namespace, options one by one") {
    ScratchDir dir;
    std::ofstream(dir.path + "/ns");
    kiln::UniqueFd ns(::open((dir.path + "/ns").c_str(), O_RDONLY | O_CLOEXEC));
    RecordingKernel k("");
    CHECK(kiln::procfs::can_mount_for_pidns(ns.get()));
    k.calls.clear();
    auto mnt = kiln::procfs::new_for_pidns(ns.get(), MS_RDONLY | MS_NOSUID | MS_NODEV, "hidepid=2,subset=pid", "/proc");
    CHECK(mnt);
    CHECK(k.calls == Calls{"fsopen proc", "fsconfig fs:proc pidns=" + dir.path + "/ns", "fsconfig fs:proc hidepid=2",
                           "fsconfig fs:proc subset=pid", "fsconfig fs:proc create", "fsmount fs:proc RDONLY|NOSUID|NODEV"});
    k.fail_when("pidns", EINVAL);  // a kernel without the pidns option
    CHECK_FALSE(kiln::procfs::can_mount_for_pidns(ns.get()));
    k.fail_when("fsconfig fs:proc bogus", EINVAL);
    CHECK_THROWS_WITH(kiln::procfs::new_for_pidns(ns.get(), 0, "bogus", "/proc"), Catch::Contains("option bogus"));
}

TEST_CASE("idmap: an idmap mount joining the container's user namespace by path") {
    ScratchDir src, root;
    auto s = spec::parse_config(R"({"linux": {"namespaces": [{"type": "user", "path": "/proc/self/ns/user"}]},
        "mounts": [{"destination": "/m", "type": "bind", "source": ")" + src.path + R"(", "options": ["rbind", "idmap", "ro"]},
                   {"destination": "/n", "type": "tmpfs", "source": "tmpfs"}]})");
    CHECK(kiln::rootfs::is_idmapped(s.mounts[0]));
    CHECK_FALSE(kiln::rootfs::is_idmapped(s.mounts[1]));
    RecordingKernel k(root.path);
    auto fds = kiln::rootfs::mount_sources(s);
    REQUIRE(fds.size() == 1);
    CHECK(k.calls == Calls{"open_tree " + src.path + " AT_RECURSIVE", "mount_setattr tree:" + src.path + " set=RDONLY|IDMAP"});
    k.calls.clear();
    kiln::UniqueFd root_fd(::open(root.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    kiln::rootfs::attach_idmapped(root_fd.get(), s.mounts[0], fds[0].get());
    CHECK(k.calls == Calls{"mkdir /m", "move_mount tree:" + src.path + " -> /m"});
}

TEST_CASE("idmap: a refused mount_setattr names the mount") {
    ScratchDir src;
    auto s = spec::parse_config(R"({"mounts": [{"destination": "/m", "type": "bind", "source": ")" + src.path +
                                R"(", "options": ["bind"], "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                                "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]})");
    RecordingKernel k("");
    k.fail_when("open_tree", ENOENT);
    CHECK_THROWS_WITH(kiln::rootfs::mount_sources(s), Catch::Contains("mounts[0] (/m)"));
}

TEST_CASE("userns: map_text is one line per mapping") {
    CHECK(kiln::userns::map_text({}).empty());
    CHECK(kiln::userns::map_text({{0, 1000, 1}, {1, 100000, 65536}}) == "0 1000 1\n1 100000 65536\n");
}

TEST_CASE("userns: a rootless caller needs a user namespace, maps, and mapped uid=/gid= options") {
    using kiln::userns::validate_rootless;
    CHECK_THROWS_WITH(validate_rootless(spec::parse_config("{}")), "rootless container requires user namespaces");
    auto user = [](const std::string &rest) {
        return spec::parse_config(R"({"linux": {"namespaces": [{"type": "user"}])" + rest + "}}");
    };
    CHECK_THROWS_WITH(validate_rootless(user("")), "rootless containers requires at least one UID mapping");
    std::string maps = R"(, "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
                          "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}])";
    CHECK_NOTHROW(validate_rootless(user(maps)));
    auto with_opt = [&](const std::string &opt) {
        auto s = user(maps);
        s.mounts.push_back(spec::Mount{});
        s.mounts.back().options = {opt};
        return s;
    };
    CHECK_NOTHROW(validate_rootless(with_opt("uid=9")));
    CHECK_THROWS_WITH(validate_rootless(with_opt("uid=10")), Catch::Contains("unmapped uid"));
    CHECK_THROWS_WITH(validate_rootless(with_opt("gid=4000")), Catch::Contains("unmapped gid"));
    CHECK_NOTHROW(validate_rootless(with_opt("uid=abc")));  // not a number: the filesystem's business
    // A joined user namespace has its maps already.
    CHECK_NOTHROW(validate_rootless(spec::parse_config(R"({"linux": {"namespaces": [{"type": "user", "path": "/x"}]}})")));
}

TEST_CASE("attrs: scheduler, I/O priority, personality and memory policy, one call each") {
    RecordingKernel k("");
    spec::Scheduler sch;
    sch.policy = "SCHED_FIFO";
    sch.priority = 10;
    sch.flags = {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_UTIL_CLAMP_MAX"};
    kiln::process::set_scheduler(sch);
    spec::IOPriority io;
    io.klass = "IOPRIO_CLASS_BE";
    io.priority = 4;
    kiln::process::set_io_priority(io);
    spec::Personality per;
    per.domain = "LINUX32";
    kiln::process::set_personality(per);
    spec::MemoryPolicy mp;
    mp.mode = "MPOL_BIND";
    mp.nodes = "0-1,3";
    kiln::process::set_memory_policy(mp);
    CHECK(k.calls == Calls{"sched_setattr policy=1 flags=65 nice=0 priority=10", "ioprio_set 1 0 class=2 level=4",
                           "personality " + std::to_string(PER_LINUX32),
                           "set_mempolicy mode=" + std::to_string(MPOL_BIND) + " mask=11 maxnode=65"});
}

TEST_CASE("attrs: unknown names are refused before any call; a refused call names the field") {
    RecordingKernel k("");
    spec::Scheduler sch;
    sch.policy = "SCHED_FAST";
    CHECK_THROWS_WITH(kiln::process::set_scheduler(sch), Catch::Contains("process.scheduler.policy"));
    sch.policy = "SCHED_OTHER";
    sch.flags = {"SCHED_FLAG_NOPE"};
    CHECK_THROWS_WITH(kiln::process::set_scheduler(sch), Catch::Contains("process.scheduler.flags"));
    spec::IOPriority io;
    io.klass = "IOPRIO_CLASS_FAST";
    CHECK_THROWS_WITH(kiln::process::set_io_priority(io), Catch::Contains("process.ioPriority.class"));
    CHECK(k.calls.empty());
    k.fail_when("sched_setattr", EPERM);
    sch.flags.clear();
    CHECK_THROWS_WITH(kiln::process::set_scheduler(sch), Catch::Contains("process.scheduler: sched_setattr"));
    k.fail_when("ioprio_set", EPERM);
    io.klass = "IOPRIO_CLASS_IDLE";
    CHECK_THROWS_WITH(kiln::process::set_io_priority(io), Catch::Contains("process.ioPriority: ioprio_set"));
}

TEST_CASE("netlink: a netDevice the host does not have is named in the error, nothing is sent") {
    RecordingKernel k("");
    CHECK_THROWS_WITH(kiln::netlink::move_device("kiln-nosuch0", "", -1, "/proc/1/ns/net"),
                      Catch::Contains("link not found for interface kiln-nosuch0 on runtime namespace"));
    CHECK(k.calls.empty());
}

TEST_CASE("netlink: a link request sets the flags under the change mask") {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr *nlh = kiln::netlink::link_request(buf.data(), 7, IFF_UP, IFF_UP);
    CHECK(nlh->nlmsg_type == RTM_NEWLINK);
    CHECK(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK));
    CHECK(nlh->nlmsg_len == mnl_nlmsg_size(sizeof(ifinfomsg)));
    auto *ifm = static_cast<ifinfomsg *>(mnl_nlmsg_get_payload(nlh));
    CHECK(ifm->ifi_family == AF_UNSPEC);
    CHECK(ifm->ifi_index == 7);
    CHECK(ifm->ifi_flags == IFF_UP);
    CHECK(ifm->ifi_change == IFF_UP);
}

namespace {

// The attributes of an RTM_*ADDR message, by type.
std::map<int, std::vector<char>> addr_attrs(const nlmsghdr *nlh) {
    std::map<int, std::vector<char>> out;
    auto *tail = static_cast<const char *>(mnl_nlmsg_get_payload_tail(nlh));
    for (auto *a = static_cast<const nlattr *>(mnl_nlmsg_get_payload_offset(nlh, sizeof(ifaddrmsg)));
         mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char *>(a))); a = mnl_attr_next(a)) {
        auto *p = static_cast<const char *>(mnl_attr_get_payload(a));
        out[mnl_attr_get_type(a)] = std::vector<char>(p, p + mnl_attr_get_payload_len(a));
    }
    return out;
}

// An address as a dump reports it.
nlmsghdr *dumped(char *buf, int index, unsigned char scope, uint32_t flags, const std::vector<char> &local) {
    auto *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWADDR;
    auto *ifa = static_cast<ifaddrmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = 24;
    ifa->ifa_scope = scope;
    ifa->ifa_index = static_cast<unsigned>(index);
    mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
    if (!local.empty()) mnl_attr_put(nlh, IFA_LOCAL, local.size(), local.data());
    return nlh;
}

}  // namespace

TEST_CASE("netlink: an address request carries the address as local and address, and the broadcast") {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    kiln::netlink::Address a;
    a.family = AF_INET;
    a.prefixlen = 24;
    a.local = {10, 0, 0, 2};
    a.broadcast = {10, 0, 0, static_cast<char>(255)};
    nlmsghdr *nlh = kiln::netlink::address_request(buf.data(), 3, a);
    CHECK(nlh->nlmsg_type == RTM_NEWADDR);
    CHECK(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL));
    auto *ifa = static_cast<ifaddrmsg *>(mnl_nlmsg_get_payload(nlh));
    CHECK(ifa->ifa_family == AF_INET);
    CHECK(ifa->ifa_prefixlen == 24);
    CHECK(ifa->ifa_scope == RT_SCOPE_UNIVERSE);
    CHECK(ifa->ifa_index == 3);
    auto attrs = addr_attrs(nlh);
    CHECK(attrs[IFA_LOCAL] == a.local);
    CHECK(attrs[IFA_ADDRESS] == a.local);
    CHECK(attrs[IFA_BROADCAST] == a.broadcast);
    a.broadcast.clear();
    CHECK(addr_attrs(kiln::netlink::address_request(buf.data(), 3, a)).count(IFA_BROADCAST) == 0);
}

TEST_CASE("netlink: only permanent global addresses of the device move with it") {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    std::vector<char> ip = {10, 1, 2, 3};
    auto kept = kiln::netlink::kept_address(dumped(buf.data(), 5, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT, ip), 5);
    REQUIRE(kept);
    CHECK(kept->family == AF_INET);
    CHECK(kept->prefixlen == 24);
    CHECK(kept->local == ip);
    CHECK_FALSE(kiln::netlink::kept_address(dumped(buf.data(), 6, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT, ip), 5));
    CHECK_FALSE(kiln::netlink::kept_address(dumped(buf.data(), 5, RT_SCOPE_HOST, IFA_F_PERMANENT, ip), 5));
    CHECK_FALSE(kiln::netlink::kept_address(dumped(buf.data(), 5, RT_SCOPE_UNIVERSE, 0, ip), 5));  // dynamic (DHCP)
    CHECK_FALSE(kiln::netlink::kept_address(dumped(buf.data(), 5, RT_SCOPE_UNIVERSE, IFA_F_PERMANENT, {}), 5));
}

TEST_CASE("inroot: make_dirs makes each missing step once, below the root, through the seam") {
    ScratchDir root;
    std::filesystem::create_directories(root.path + "/a");
    std::filesystem::create_symlink("/a", root.path + "/link");
    kiln::UniqueFd root_fd(::open(root.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    RecordingKernel k(root.path);
    CHECK(kiln::inroot::make_dirs(root_fd.get(), "/link/b/c"));
    // The symlink is resolved in the root: /a/b, not the host's /a/b.
    CHECK(k.calls == Calls{"mkdir /a/b", "mkdir /a/b/c"});
    CHECK(std::filesystem::is_directory(root.path + "/a/b/c"));
    k.calls.clear();
    CHECK(kiln::inroot::make_dirs(root_fd.get(), "/link/b/c"));
    CHECK(k.calls.empty());
}
