// The rootfs plan through the recording kernel (recording_kernel.hpp):
// which mounts rootfs::prepare/pivot/finish make, in which order, with
// which flags, for the default config and for masked, read-only and bind
// mounts; without root (nothing is mounted).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cgroups/cgroup.hpp"
#include "kiln/error.hpp"
#include "kiln/spec.hpp"
#include "linux/rootfs.hpp"
#include "recording_kernel.hpp"
#include "scratch_dir.hpp"

using kiln::test::RecordingKernel;
using kiln::test::ScratchDir;
namespace spec = kiln::spec;
namespace rootfs = kiln::rootfs;

namespace {

spec::Spec default_spec() { return spec::parse_config(spec::default_config_json(false, 0, 0)); }

// The calls from the first one starting with from (inclusive).
std::vector<std::string> from(const std::vector<std::string> &calls, const std::string &first) {
    auto it = std::find_if(calls.begin(), calls.end(), [&](auto &c) { return c.rfind(first, 0) == 0; });
    return {it, calls.end()};
}

bool has(const std::vector<std::string> &calls, const std::string &line) {
    return std::find(calls.begin(), calls.end(), line) != calls.end();
}

size_t index_of(const std::vector<std::string> &calls, const std::string &line) {
    return static_cast<size_t>(std::find(calls.begin(), calls.end(), line) - calls.begin());
}

}  // namespace

TEST_CASE("rootfs plan: the default config's mounts, in order, with their flags") {
    ScratchDir root;
    RecordingKernel k(root.path);
    rootfs::prepare(default_spec(), root.path, {}, false);
    auto mounts = k.only("mount ");
    REQUIRE(mounts.size() >= 8);
    // Host mounts may propagate in, ours never out; the rootfs a mount point.
    CHECK(mounts[0] == "mount - / - MS_REC|MS_SLAVE");
    CHECK(mounts[1] == "mount " + root.path + " " + root.path + " - MS_BIND|MS_REC");
    // Each config mount onto its destination's fd, named here by its path.
    CHECK(mounts[2] == "mount proc /proc proc 0");
    CHECK(mounts[3] == "mount tmpfs /dev tmpfs MS_NOSUID|MS_STRICTATIME mode=755,size=65536k");
    CHECK(mounts[4] == "mount devpts /dev/pts devpts MS_NOSUID|MS_NOEXEC newinstance,ptmxmode=0666,mode=0620,gid=5");
    CHECK(mounts[5] == "mount shm /dev/shm tmpfs MS_NOSUID|MS_NODEV|MS_NOEXEC mode=1777,size=65536k");
    CHECK(mounts[6] == "mount mqueue /dev/mqueue mqueue MS_NOSUID|MS_NODEV|MS_NOEXEC");
    CHECK(mounts[7] == "mount sysfs /sys sysfs MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC");
    // The destinations were made in the root, procfs before /dev.
    CHECK(index_of(k.calls, "mkdir /proc") < index_of(k.calls, "mkdir /dev"));
    CHECK(index_of(k.calls, "mkdir /dev/pts") < index_of(k.calls, mounts[4]));
    // cgroup: the host's layout decides (cgroup2 itself, or a tmpfs with a
    // directory per v1 hierarchy), read-only and nosuid/nodev/noexec either way.
    auto &hs = kiln::cgroups::hierarchies();
    if (hs.size() == 1 && hs[0].v2) {
        REQUIRE(mounts.size() >= 9);
        CHECK(mounts[8] == "mount cgroup2 /sys/fs/cgroup cgroup2 MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_RELATIME");
    } else {
        auto cg = from(k.calls, "fsopen tmpfs");
        REQUIRE(cg.size() >= 5);
        CHECK(cg[1] == "fsconfig fs:tmpfs source=tmpfs");
        CHECK(has(cg, "fsconfig fs:tmpfs mode=755"));
        CHECK(has(cg, "fsmount fs:tmpfs NOSUID|NODEV|NOEXEC"));
        CHECK(has(cg, "move_mount mnt:tmpfs -> /sys/fs/cgroup"));
        CHECK(has(cg, "mount_setattr mnt:tmpfs set=RDONLY"));
    }
}

TEST_CASE("rootfs plan: default devices and links after the mounts") {
    ScratchDir root;
    RecordingKernel k(root.path);
    rootfs::prepare(default_spec(), root.path, {}, false);
    auto devs = from(k.calls, "mknod");
    REQUIRE(!devs.empty());
    const char *nodes[] = {"/dev/null c 1:3", "/dev/zero c 1:5", "/dev/full c 1:7", "/dev/random c 1:8",
                           "/dev/urandom c 1:9", "/dev/tty c 5:0"};
    size_t last = 0;
    for (const char *n : nodes) {
        std::string line = std::string("mknod ") + n + " 0666";
        size_t at = index_of(devs, line);
        CHECK(at < devs.size());
        CHECK(at >= last);
        last = at;
        std::string path = std::string(n).substr(0, std::string(n).find(' '));
        CHECK(has(devs, "chown " + path + " 0:0"));
    }
    CHECK(has(devs, "symlink /dev/fd -> /proc/self/fd"));
    CHECK(has(devs, "symlink /dev/stdin -> /proc/self/fd/0"));
    CHECK(has(devs, "symlink /dev/ptmx -> pts/ptmx"));
    // No mount after the devices.
    CHECK(std::none_of(devs.begin(), devs.end(), [](auto &c) { return c.rfind("mount", 0) == 0; }));
}

TEST_CASE("rootfs plan: in a user namespace the host's nodes are bound, not made") {
    ScratchDir root;
    RecordingKernel k(root.path);
    rootfs::prepare(default_spec(), root.path, {}, true);
    CHECK(k.only("mknod").empty());
    auto devs = from(k.calls, "unlink /dev/null");
    REQUIRE(devs.size() >= 3);
    CHECK(devs[1] == "create /dev/null");
    CHECK(devs[2] == "mount /dev/null /dev/null - MS_BIND");
}

TEST_CASE("rootfs plan: a bind mount with ro, nosuid and rprivate, all on the mount's own fd") {
    ScratchDir root, src;
    std::string json = R"({"mounts": [{"destination": "/data", "type": "bind", "source": ")" + src.path +
                       R"(", "options": ["rbind", "ro", "nosuid", "rprivate"]}]})";
    RecordingKernel k(root.path);
    rootfs::prepare(spec::parse_config(json), root.path, {}, false);
    auto plan = from(k.calls, "mkdir /data");
    std::string tree = "tree:" + src.path;
    std::vector<std::string> want = {
        "mkdir /data",
        "open_tree " + src.path + " AT_RECURSIVE",
        "mount_setattr " + tree + " set=RDONLY|NOSUID",  // on the detached clone, before it is attached
        "move_mount " + tree + " -> /data",
        "mount - " + tree + " - MS_REC|MS_PRIVATE",  // propagation on the attached mount's fd
    };
    REQUIRE(plan.size() >= want.size());
    CHECK(std::vector<std::string>(plan.begin(), plan.begin() + static_cast<long>(want.size())) == want);
}

TEST_CASE("rootfs plan: a file bind makes a file destination; rw/suid clear the flags") {
    ScratchDir root, src;
    std::ofstream(src.path + "/hosts") << "x";
    std::string json = R"({"mounts": [{"destination": "/etc/hosts", "type": "none", "source": ")" + src.path +
                       R"(/hosts", "options": ["bind", "rw", "suid", "nodev"]}]})";
    RecordingKernel k(root.path);
    rootfs::prepare(spec::parse_config(json), root.path, {}, false);
    auto plan = from(k.calls, "mkdir /etc");
    REQUIRE(plan.size() >= 5);
    CHECK(plan[1] == "create /etc/hosts");
    CHECK(plan[2] == "open_tree " + src.path + "/hosts");  // bind: not recursive
    CHECK(plan[3] == "mount_setattr tree:" + src.path + "/hosts set=NODEV clr=RDONLY|NOSUID");
    CHECK(plan[4] == "move_mount tree:" + src.path + "/hosts -> /etc/hosts");
}

TEST_CASE("rootfs plan: recursive attributes go on the whole clone") {
    ScratchDir root, src;
    std::string json = R"({"mounts": [{"destination": "/v", "type": "bind", "source": ")" + src.path +
                       R"(", "options": ["rbind", "rro", "rnosuid"]}]})";
    RecordingKernel k(root.path);
    rootfs::prepare(spec::parse_config(json), root.path, {}, false);
    CHECK(has(k.calls, "mount_setattr tree:" + src.path + " set=RDONLY|NOSUID AT_RECURSIVE"));
}

TEST_CASE("rootfs plan: rootfsPropagation sets the first and the last propagation") {
    ScratchDir root;
    auto plan = [&](const std::string &prop) {
        RecordingKernel k(root.path);
        auto s = spec::parse_config(R"({"linux": {"rootfsPropagation": ")" + prop + R"("}})");
        rootfs::prepare(s, root.path, {}, false);
        k.pivoted = true;
        rootfs::finish(s);
        return k.only("mount - / ");
    };
    auto shared = plan("rshared");
    REQUIRE(shared.size() == 2);
    CHECK(shared[0] == "mount - / - MS_REC|MS_SLAVE");  // ours never propagate out during setup
    CHECK(shared[1] == "mount - / - MS_REC|MS_SHARED");
    auto priv = plan("private");
    REQUIRE(priv.size() == 2);
    CHECK(priv[0] == "mount - / - MS_REC|MS_PRIVATE");
    CHECK(priv[1] == "mount - / - MS_PRIVATE");
    auto none = plan("");
    CHECK(none == std::vector<std::string>{"mount - / - MS_REC|MS_SLAVE"});
    CHECK_THROWS_WITH(plan("sideways"), Catch::Contains("linux.rootfsPropagation") && Catch::Contains("sideways"));
}

TEST_CASE("rootfs plan: pivot_root, then the old root detached without propagating") {
    ScratchDir root;
    RecordingKernel k(root.path);
    rootfs::pivot(root.path, false);
    std::vector<std::string> want = {"chdir " + root.path, "pivot_root . .", "fchdir /",
                                     "mount - . - MS_REC|MS_SLAVE", "umount2 . MNT_DETACH", "chdir /"};
    CHECK(k.calls == want);
}

TEST_CASE("rootfs plan: --no-pivot moves the rootfs onto / and chroots") {
    ScratchDir root;
    RecordingKernel k(root.path);
    rootfs::pivot(root.path, true);
    REQUIRE(k.calls.size() >= 4);
    CHECK(k.calls.front() == "chdir " + root.path);
    auto tail = std::vector<std::string>(k.calls.end() - 3, k.calls.end());
    CHECK(tail == std::vector<std::string>{"mount " + root.path + " / - MS_MOVE", "chroot .", "chdir /"});
    CHECK(k.only("pivot_root").empty());
    // The host's proc and sysfs beside the chroot: slave, then detached.
    for (auto &c : k.only("umount2")) CHECK(c.find("MNT_DETACH") != std::string::npos);
}

TEST_CASE("rootfs plan: masked files get the null device, masked dirs one shared read-only tmpfs") {
    ScratchDir root;
    for (auto d : {"proc/acpi", "proc/scsi", "sys/firmware", "proc/bus", "proc/sys"})
        std::filesystem::create_directories(root.path + "/" + d);
    for (auto f : {"proc/kcore", "proc/keys", "proc/sysrq-trigger"}) std::ofstream(root.path + "/" + f);
    RecordingKernel k(root.path, true);  // after pivot_root: paths are the container's
    rootfs::finish(default_spec());
    std::vector<std::string> want = {
        // readonlyPaths first, each a recursive clone of itself made read-only and put back.
        "open_tree /proc/bus AT_RECURSIVE",
        "mount_setattr tree:/proc/bus set=RDONLY",
        "move_mount tree:/proc/bus -> /proc/bus",
        "open_tree /proc/sys AT_RECURSIVE",
        "mount_setattr tree:/proc/sys set=RDONLY",
        "move_mount tree:/proc/sys -> /proc/sys",
        "open_tree /proc/sysrq-trigger AT_RECURSIVE",
        "mount_setattr tree:/proc/sysrq-trigger set=RDONLY",
        "move_mount tree:/proc/sysrq-trigger -> /proc/sysrq-trigger",
        // The first masked directory gets a new empty read-only tmpfs...
        "fsopen tmpfs",
        "fsconfig fs:tmpfs source=tmpfs",
        "fsconfig fs:tmpfs ro",
        "fsconfig fs:tmpfs create",
        "fsmount fs:tmpfs RDONLY",
        "move_mount mnt:tmpfs -> /proc/acpi",
        // ...files the null device, bound from its fd (missing paths skipped)...
        "open_tree /dev/null",
        "move_mount tree:/dev/null -> /proc/kcore",
        "open_tree /dev/null",
        "move_mount tree:/dev/null -> /proc/keys",
        // ...and the other directories a bind of that same tmpfs.
        "open_tree mnt:tmpfs",
        "move_mount tree:mnt:tmpfs -> /sys/firmware",
        "open_tree mnt:tmpfs",
        "move_mount tree:mnt:tmpfs -> /proc/scsi",
    };
    // Last, the default config's root.readonly: / remounted read-only.
    REQUIRE(k.calls.size() == want.size() + 1);
    CHECK(std::vector<std::string>(k.calls.begin(), k.calls.end() - 1) == want);
    CHECK(k.calls.back().rfind("mount - / - MS_RDONLY|", 0) == 0);
}

TEST_CASE("rootfs plan: a /dev/null that is not the null device stops the masking (CVE-2025-31133)") {
    ScratchDir root;
    std::filesystem::create_directories(root.path + "/dev");
    std::filesystem::create_directories(root.path + "/proc");
    std::ofstream(root.path + "/proc/kcore");
    std::filesystem::create_symlink("/proc/self/attr/current", root.path + "/dev/null");
    RecordingKernel k(root.path, true);
    k.host_paths.clear();  // the container's own /dev/null, here a symlink
    CHECK_THROWS_WITH(rootfs::finish(default_spec()),
                      Catch::Contains("not the null device") && Catch::Contains("/proc/kcore"));
    CHECK(k.only("move_mount").empty());
}

TEST_CASE("rootfs plan: root.readonly remounts / read-only last") {
    ScratchDir root;
    RecordingKernel k(root.path, true);
    auto s = spec::parse_config(R"({"root": {"path": "rootfs", "readonly": true}})");
    rootfs::finish(s);
    REQUIRE(k.calls.size() == 1);
    CHECK(k.calls[0].rfind("mount - / - MS_RDONLY|", 0) == 0);
    CHECK(k.calls[0].find("MS_REMOUNT|") != std::string::npos);
    CHECK(k.calls[0].find("MS_BIND") != std::string::npos);
}

TEST_CASE("rootfs plan: a read-only /dev is mounted rw and made read-only by finish_dev") {
    ScratchDir root;
    RecordingKernel k(root.path);
    auto s = spec::parse_config(R"({"mounts": [{"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                                                "options": ["ro", "nosuid"]}]})");
    rootfs::prepare(s, root.path, {}, false);
    CHECK(has(k.calls, "mount tmpfs /dev tmpfs MS_NOSUID"));
    k.calls.clear();
    rootfs::finish_dev(s);
    REQUIRE(k.calls.size() == 1);
    CHECK(k.calls[0].rfind("mount - /dev - MS_RDONLY|", 0) == 0);
}

TEST_CASE("rootfs plan: a failing mount names its destination") {
    ScratchDir root;
    RecordingKernel k(root.path);
    k.fail_when("mount devpts", EPERM);
    CHECK_THROWS_WITH(rootfs::prepare(default_spec(), root.path, {}, false),
                      Catch::Contains("mount /dev/pts") && Catch::Contains(std::strerror(EPERM)));
    // Nothing after the failure.
    CHECK(k.calls.back().rfind("mount devpts", 0) == 0);

    RecordingKernel k2(root.path);
    k2.fail_when("move_mount", EACCES);
    ScratchDir src;
    auto s = spec::parse_config(R"({"mounts": [{"destination": "/data", "type": "bind", "source": ")" + src.path +
                                R"(", "options": ["bind"]}]})");
    CHECK_THROWS_WITH(rootfs::prepare(s, root.path, {}, false), Catch::Contains("mount /data"));
}

TEST_CASE("rootfs plan: sysfs refused (no network namespace of our own) binds the host's /sys read-only") {
    ScratchDir root;
    RecordingKernel k(root.path);
    k.fail_when("mount sysfs", EPERM);
    auto s = spec::parse_config(R"({"mounts": [{"destination": "/sys", "type": "sysfs", "source": "sysfs",
                                                "options": ["nosuid"]}]})");
    rootfs::prepare(s, root.path, {}, false);
    auto plan = from(k.calls, "open_tree /sys");
    REQUIRE(plan.size() >= 3);
    CHECK(plan[0] == "open_tree /sys AT_RECURSIVE");
    CHECK(plan[1] == "mount_setattr tree:/sys set=RDONLY|NOSUID|NODEV|NOEXEC");
    CHECK(plan[2] == "move_mount tree:/sys -> /sys");
}

TEST_CASE("rootfs plan: procfs over a symlink in the rootfs is refused (CVE-2019-19921)") {
    ScratchDir root;
    std::filesystem::create_directories(root.path + "/elsewhere");
    std::filesystem::create_symlink("elsewhere", root.path + "/proc");
    RecordingKernel k(root.path);
    auto s = spec::parse_config(R"({"mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}]})");
    CHECK_THROWS_WITH(rootfs::prepare(s, root.path, {}, false), Catch::Contains("must be mounted on ordinary directory"));
    CHECK(k.only("mount proc").empty());
}

TEST_CASE("rootfs plan: nothing but procfs on /proc, nothing inside it but lxcfs's files") {
    ScratchDir root, src;
    std::filesystem::create_directories(root.path + "/proc");
    std::ofstream(src.path + "/f");
    RecordingKernel k(root.path);
    auto bind_at = [&](const std::string &dst) {
        return spec::parse_config(R"({"mounts": [{"destination": ")" + dst + R"(", "type": "bind", "source": ")" +
                                  src.path + R"(/f", "options": ["bind"]}]})");
    };
    CHECK_THROWS_WITH(rootfs::prepare(bind_at("/proc/sys/x"), root.path, {}, false),
                      Catch::Contains("is inside /proc"));
    k.calls.clear();
    rootfs::prepare(bind_at("/proc/meminfo"), root.path, {}, false);
    CHECK(has(k.calls, "move_mount tree:" + src.path + "/f -> /proc/meminfo"));
}

TEST_CASE("rootfs plan: a new filesystem with propagation is made detached, propagation on its fd") {
    ScratchDir root;
    RecordingKernel k(root.path);
    auto s = spec::parse_config(R"({"mounts": [{"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                                                "options": ["rshared", "size=1k", "noexec"]}]})");
    rootfs::prepare(s, root.path, {}, false);
    auto plan = from(k.calls, "fsopen tmpfs");
    std::vector<std::string> want = {"fsopen tmpfs",           "fsconfig fs:tmpfs source=tmpfs",
                                     "fsconfig fs:tmpfs size=1k", "fsconfig fs:tmpfs create",
                                     "fsmount fs:tmpfs NOEXEC", "move_mount mnt:tmpfs -> /t",
                                     "mount - mnt:tmpfs - MS_REC|MS_SHARED"};
    REQUIRE(plan.size() >= want.size());
    CHECK(std::vector<std::string>(plan.begin(), plan.begin() + static_cast<long>(want.size())) == want);
}

TEST_CASE("rootfs plan: procfs of a shared pid namespace is made for that namespace") {
    ScratchDir root, ns;
    std::ofstream(ns.path + "/pid");
    kiln::UniqueFd pidns(::open((ns.path + "/pid").c_str(), O_RDONLY | O_CLOEXEC));
    RecordingKernel k(root.path);
    auto s = spec::parse_config(R"({"mounts": [{"destination": "/proc", "type": "proc", "source": "proc",
                                                "options": ["nosuid"]}]})");
    rootfs::prepare(s, root.path, {}, false, {}, pidns.get());
    CHECK(k.only("mount proc").empty());
    auto plan = from(k.calls, "fsopen proc");
    REQUIRE(plan.size() >= 5);
    CHECK(plan[1] == "fsconfig fs:proc pidns=" + ns.path + "/pid");
    CHECK(plan[3] == "fsmount fs:proc NOSUID");
    CHECK(plan[4] == "move_mount mnt:proc -> /proc");
}

TEST_CASE("rootfs plan: a bind source cloned by the runtime is attached, not looked up again") {
    ScratchDir root, src;
    kiln::UniqueFd tree(::open(src.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    RecordingKernel k(root.path);
    auto s = spec::parse_config(R"({"mounts": [{"destination": "/data", "type": "bind", "source": "/nonexistent",
                                                "options": ["rbind", "nodev"]}]})");
    rootfs::prepare(s, root.path, {}, true, {tree.get()});
    CHECK(k.only("open_tree").empty());
    CHECK(has(k.calls, "mount_setattr " + src.path + " set=NODEV"));
    CHECK(has(k.calls, "move_mount " + src.path + " -> /data"));
}

TEST_CASE("rootfs plan: linux.devices are made where they are, with their modes and owners") {
    ScratchDir root;
    RecordingKernel k(root.path);
    auto s = spec::parse_config(R"({"linux": {"devices": [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384, "uid": 1, "gid": 2},
        {"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200},
        {"path": "/dev/loop0", "type": "b", "major": 7, "minor": 0},
        {"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2}]}})");
    rootfs::prepare(s, root.path, {}, false);
    CHECK(has(k.calls, "mknod /dev/fuse c 10:229 0600"));
    CHECK(has(k.calls, "chown /dev/fuse 1:2"));
    CHECK(index_of(k.calls, "mkdir /dev/net") < index_of(k.calls, "mknod /dev/net/tun c 10:200 0666"));
    CHECK(has(k.calls, "mknod /dev/loop0 b 7:0 0666"));
    // /dev/ptmx stays the pts/ptmx link.
    CHECK(k.only("mknod /dev/ptmx").empty());
    CHECK(has(k.calls, "symlink /dev/ptmx -> pts/ptmx"));
}

TEST_CASE("rootfs plan: a /dev bound from the host gets no default nodes") {
    ScratchDir root;
    RecordingKernel k(root.path);
    auto s = spec::parse_config(R"({"mounts": [{"destination": "/dev", "type": "bind", "source": "/dev",
                                                "options": ["rbind"]}]})");
    rootfs::prepare(s, root.path, {}, false);
    CHECK(has(k.calls, "open_tree /dev AT_RECURSIVE"));
    CHECK(has(k.calls, "move_mount tree:/dev -> /dev"));
    CHECK(k.only("mknod").empty());
    CHECK(k.only("symlink").empty());
}

TEST_CASE("rootfs plan: cgroup v1 hierarchies are bound under a tmpfs, each read-only with the mount") {
    auto &hs = kiln::cgroups::hierarchies();
    if (hs.size() == 1 && hs[0].v2) {
        WARN("skipped: a pure cgroup v2 host");
        return;
    }
    ScratchDir root, cg;
    std::vector<std::string> dirs;
    for (size_t i = 0; i < hs.size(); i++) {
        dirs.push_back(cg.path + "/" + std::to_string(i));
        std::filesystem::create_directories(dirs.back());
    }
    RecordingKernel k(root.path);
    auto s = spec::parse_config(R"({"mounts": [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                                                "options": ["ro", "nosuid"]}]})");
    rootfs::prepare(s, root.path, dirs, false);
    for (size_t i = 0; i < hs.size(); i++) {
        std::string name = hs[i].mount.substr(hs[i].mount.find_last_of('/') + 1);
        std::string at = "/sys/fs/cgroup/" + name;
        CAPTURE(at);
        // The directory is made in the new tmpfs (its fd), the container's cgroup bound onto it.
        CHECK(has(k.calls, "mkdir mnt:tmpfs/" + name));
        CHECK(has(k.calls, "open_tree " + dirs[i] + " AT_RECURSIVE"));
        CHECK(has(k.calls, "mount_setattr tree:" + dirs[i] + " set=RDONLY|NOSUID|NODEV|NOEXEC"));
    }
    // The tmpfs itself read-only after the binds into it.
    auto binds = k.only("move_mount");
    REQUIRE(!binds.empty());
    CHECK(index_of(k.calls, "mount_setattr mnt:tmpfs set=RDONLY") > index_of(k.calls, binds.back()));
    CHECK(index_of(k.calls, "mount_setattr mnt:tmpfs set=RDONLY") < k.calls.size());
}
