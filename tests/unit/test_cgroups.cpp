// The cgroup drivers' pure parts: layout detection, the v1/v2 writers against
// a fake cgroupfs tree, runc's conversions, the device rules -> eBPF program,
// and the systemd driver's path parsing and property mapping.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <linux/magic.h>

#include "cgroups/devices_bpf.hpp"
#include "cgroups/fs.hpp"
#include "cgroups/systemd.hpp"
#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "util/fd.hpp"

using namespace kiln;
using namespace kiln::cgroups;
using Catch::Matchers::Contains;

namespace {

// A temporary directory with the named (empty) files, removed at the end.
struct FakeDir {
    std::string path;
    explicit FakeDir(std::initializer_list<const char *> files) {
        char tmpl[] = "/tmp/kiln-unit-cg-XXXXXX";
        path = ::mkdtemp(tmpl);
        for (auto *f : files) std::ofstream(path + "/" + f).flush();
    }
    ~FakeDir() {
        std::string cmd = "rm -rf '" + path + "'";
        (void)std::system(cmd.c_str());
    }
    std::string read(const char *f) const { return read_file(path + "/" + f); }
};

// Records every write of a test (multi-line files keep only the last in the tree).
// (the kernel's files through the write seam, each write noted).
struct Log : RealFiles {
    std::vector<std::pair<std::string, std::string>> entries;  // file name, value
    UseFiles use{*this};
    void write(const std::string &dir, const std::string &file, const std::string &value) override {
        entries.emplace_back(file, value);
        RealFiles::write(dir, file, value);
    }
    void write_each(const std::string &dir, const std::string &file, const std::vector<std::string> &values) override {
        for (auto &v : values) entries.emplace_back(file, v);
        RealFiles::write_each(dir, file, values);
    }
    std::vector<std::string> of(const std::string &file) const {
        std::vector<std::string> out;
        for (auto &[f, v] : entries)
            if (f == file) out.push_back(v);
        return out;
    }
};

spec::DeviceRule dev_rule(bool allow, const char *type, int64_t major, int64_t minor, const char *access) {
    spec::DeviceRule r;
    r.allow = allow;
    r.type = type;
    if (major >= 0) r.major = major;
    if (minor >= 0) r.minor = minor;
    r.access = access;
    return r;
}

}  // namespace

TEST_CASE("hierarchies from mountinfo: hybrid layout", "[cgroups]") {
    std::string mountinfo =
        "30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        "32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
        "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "35 24 0:30 /sub /mnt/bound rw - cgroup cgroup rw,memory\n";
    std::string proc = "4:memory:/user.slice\n3:cpu,cpuacct:/\n2:name=systemd:/init.scope\n0::/init.scope\n";
    auto hs = parse_hierarchies(mountinfo, proc);
    REQUIRE(hs.size() == 4);  // the bind of a sub-cgroup is not a hierarchy
    CHECK(hs[0].v2);
    CHECK(hs[0].own == "/init.scope");
    CHECK(hs[1].controllers == "name=systemd");
    CHECK(hs[2].controllers == "cpu,cpuacct");
    CHECK(has_controller(hs[2], "cpuacct"));
    CHECK_FALSE(has_controller(hs[2], "cpuset"));
    CHECK(hs[3].own == "/user.slice");
    CHECK(layout_of(hs) == Layout::hybrid);
    CHECK(layout_of({hs[0]}) == Layout::v2);
    CHECK(layout_of({hs[2], hs[3]}) == Layout::v1);
    CHECK(layout_of({}) == Layout::none);
    CHECK(relative_path(hs[3], "", "c1") == "/user.slice/c1");
    CHECK(relative_path(hs[3], "/abs/x", "c1") == "/abs/x");
    CHECK(relative_path(hs[3], "rel/../y", "c1") == "/user.slice/y");
    // Pure v2: beside our own cgroup, which has processes in it (runc's fs2).
    CHECK(relative_path(hs[0], "", "c1", true) == "/c1");
    CHECK(relative_path(hs[0], "rel", "c1", true) == "/rel");
    CHECK(relative_path(hs[0], "/abs", "c1", true) == "/abs");
    Hierarchy scope{"/sys/fs/cgroup", "", true, "/user.slice/user-1001.slice/user@1001.service/app.slice/run-1.scope"};
    CHECK(relative_path(scope, "", "c1", true) == "/user.slice/user-1001.slice/user@1001.service/app.slice/c1");
}

TEST_CASE("hierarchies from mountinfo: covered and second mounts", "[cgroups]") {
    std::string mountinfo =
        "30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        "33 30 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
        "34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        // a tmpfs over the unified mount (docker-in-docker): cgroup2 is not visible
        "40 31 0:40 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n"
        // CRIU's cgroup yard of a dump that is running: a second pids mount
        "41 24 0:31 / /tmp/x/.criu.cgyard.abc/pids rw - cgroup cgroup rw,pids\n"
        // a hierarchy mounted only elsewhere is still taken
        "42 24 0:32 / /mnt/freezer rw - cgroup cgroup rw,freezer\n";
    auto hs = parse_hierarchies(mountinfo, "");
    REQUIRE(hs.size() == 3);
    CHECK(hs[0].mount == "/sys/fs/cgroup/pids");
    CHECK(hs[1].mount == "/sys/fs/cgroup/memory");
    CHECK(hs[2].mount == "/mnt/freezer");
    CHECK(layout_of(hs) == Layout::v1);
    // the standard place wins even when the other mount came first
    auto hs2 = parse_hierarchies("41 24 0:31 / /tmp/y/pids rw - cgroup cgroup rw,pids\n"
                                 "33 30 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n",
                                 "");
    REQUIRE(hs2.size() == 1);
    CHECK(hs2[0].mount == "/sys/fs/cgroup/pids");
    // a mount over /sys/fs/cgroup itself hides every hierarchy below it
    CHECK(parse_hierarchies("33 30 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
                            "50 24 0:50 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n",
                            "")
              .empty());
}

TEST_CASE("runc's v2 conversions", "[cgroups]") {
    CHECK(shares_to_weight(0) == 0);
    CHECK(shares_to_weight(2) == 1);
    CHECK(shares_to_weight(1024) == 39);
    CHECK(shares_to_weight(262144) == 10000);
    CHECK(blkio_to_io_weight(10) == 1);
    CHECK(blkio_to_io_weight(1000) == 10000);
    CHECK(blkio_to_io_weight(500) == 4950);
    CHECK(swap_to_v2(0, 0) == 0);
    CHECK(swap_to_v2(0, -1) == -1);
    CHECK(swap_to_v2(-1, 100) == -1);
    CHECK(swap_to_v2(300, 100) == 200);
    CHECK(swap_to_v2(100, 100) == 0);
    CHECK_THROWS_WITH(swap_to_v2(50, 100), Contains("should be >= memory limit"));
    CHECK_THROWS_WITH(swap_to_v2(50, 0), Contains("without memory limit"));
}

TEST_CASE("v2 writer: every resource into its unified file", "[cgroups]") {
    FakeDir d({"memory.max", "memory.swap.max", "memory.low", "memory.high", "cpu.weight", "cpu.max", "cpu.max.burst",
               "cpu.idle", "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max", "hugetlb.2MB.max",
               "hugetlb.2MB.rsvd.max", "hugetlb.1GB.max", "rdma.max"});
    spec::Resources r;
    r.memory.emplace();
    r.memory->limit = 100 << 20;
    r.memory->swap = 300 << 20;
    r.memory->reservation = 50 << 20;
    r.memory->swappiness = 10;  // no v2 file: ignored like runc
    r.cpu.emplace();
    r.cpu->shares = 1024;
    r.cpu->quota = 50000;
    r.cpu->period = 200000;
    r.cpu->burst = 1000;
    r.cpu->idle = 0;
    r.cpu->cpus = "0";
    r.cpu->mems = "0";
    r.pids.emplace();
    r.pids->limit = 42;
    r.blockIO.emplace();
    r.blockIO->weight = 500;
    r.blockIO->throttleReadBpsDevice.push_back({8, 0, 1048576});
    r.blockIO->throttleWriteIOPSDevice.push_back({8, 16, 100});
    r.hugepageLimits.push_back({"2MB", 4 << 21});
    r.hugepageLimits.push_back({"1GB", 0});
    r.rdma["mlx5_1"] = spec::Rdma{3, std::nullopt};
    r.unified["memory.high"] = "200000000";
    Log log;
    write_v2(d.path, r, false);
    CHECK(d.read("memory.max") == std::to_string(100 << 20));
    CHECK(d.read("memory.swap.max") == std::to_string(200 << 20));
    CHECK(d.read("memory.low") == std::to_string(50 << 20));
    CHECK(d.read("cpu.weight") == "39");
    CHECK(d.read("cpu.max") == "50000 200000");
    CHECK(d.read("cpu.max.burst") == "1000");
    CHECK(d.read("cpu.idle") == "0");
    CHECK(d.read("cpuset.cpus") == "0");
    CHECK(d.read("pids.max") == "42");
    CHECK(d.read("io.weight") == "4950");
    CHECK(log.of("io.max") == std::vector<std::string>{"8:0 rbps=1048576", "8:16 wiops=100"});
    CHECK(d.read("hugetlb.2MB.max") == std::to_string(4 << 21));
    CHECK(d.read("hugetlb.2MB.rsvd.max") == std::to_string(4 << 21));
    CHECK(d.read("hugetlb.1GB.max") == "0");
    CHECK(d.read("rdma.max") == "mlx5_1 hca_handle=3 hca_object=max");
    CHECK(d.read("memory.high") == "200000000");
    // runc's order: swap before the limit, pids first.
    REQUIRE(log.entries.size() >= 3);
    CHECK(log.entries[0].first == "pids.max");
    CHECK(log.entries[1].first == "memory.swap.max");
    CHECK(log.entries[2].first == "memory.max");
}

TEST_CASE("v2 writer: unset, max and quota forms", "[cgroups]") {
    FakeDir d({"memory.max", "memory.swap.max", "cpu.max", "pids.max", "cpu.weight"});
    spec::Resources r;
    r.memory.emplace();
    r.memory->limit = -1;  // unlimited memory with swap unset: unlimited swap
    r.cpu.emplace();
    r.cpu->quota = -1;
    r.pids.emplace();
    r.pids->limit = -1;
    write_v2(d.path, r, false);
    CHECK(d.read("memory.max") == "max");
    CHECK(d.read("memory.swap.max") == "max");
    CHECK(d.read("cpu.max") == "max 100000");
    CHECK(d.read("pids.max") == "max");
    CHECK(d.read("cpu.weight").empty());  // shares unset: not written

    spec::Resources same;
    same.memory.emplace();
    same.memory->limit = 1000;
    same.memory->swap = 1000;  // equal: no swap
    write_v2(d.path, same, false);
    CHECK(d.read("memory.swap.max") == "0");
}

TEST_CASE("v2 writer: bad unified keys and missing files are clear errors", "[cgroups]") {
    FakeDir d({"memory.max"});
    spec::Resources r;
    r.unified["../escape"] = "1";
    CHECK_THROWS_WITH(write_v2(d.path, r, false), Contains("linux.resources.unified") && Contains("no slashes"));
    r.unified.clear();
    r.unified["foo.bar"] = "1";
    CHECK_THROWS_WITH(write_v2(d.path, r, false), Contains("foo.bar") && Contains("foo controller"));
    spec::Resources s;
    s.memory.emplace();
    s.memory->limit = 100;
    s.memory->swap = 200;
    CHECK_THROWS_WITH(write_v2(d.path, s, false), Contains("memory.swap.max"));
}

TEST_CASE("v2 writer: checkBeforeUpdate refuses a limit below usage", "[cgroups]") {
    FakeDir d({"memory.max", "memory.current"});
    write_file(d.path + "/memory.current", "5000\n");
    spec::Resources r;
    r.memory.emplace();
    r.memory->limit = 4096;
    r.memory->checkBeforeUpdate = true;
    CHECK_THROWS_WITH(write_v2(d.path, r, true), Contains("rejecting memory limit 4096 below usage 5000"));
    r.memory->limit = 8192;
    write_v2(d.path, r, true);
    CHECK(d.read("memory.max") == "8192");
}

TEST_CASE("v1 writer: memory, cpu, pids, blkio, hugetlb, net, devices", "[cgroups]") {
    FakeDir d({"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes",
               "memory.swappiness", "memory.oom_control", "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us",
               "cpu.cfs_burst_us", "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle", "cpuset.cpus", "pids.max",
               "blkio.weight", "blkio.weight_device", "blkio.throttle.read_bps_device", "hugetlb.2MB.limit_in_bytes",
               "net_cls.classid", "net_prio.ifpriomap", "devices.allow", "devices.deny", "memory.usage_in_bytes"});
    write_file(d.path + "/memory.limit_in_bytes", "9223372036854771712\n");
    Hierarchy h;
    h.mount = d.path;
    h.controllers = "memory,cpu,cpuset,pids,blkio,hugetlb,net_cls,net_prio,devices";
    spec::Resources r;
    r.memory.emplace();
    r.memory->limit = 1 << 20;
    r.memory->swap = 2 << 20;
    r.memory->reservation = 1 << 19;
    r.memory->swappiness = 60;
    r.memory->disableOOMKiller = true;
    r.cpu.emplace();
    r.cpu->shares = 512;
    r.cpu->quota = 20000;
    r.cpu->period = 100000;
    r.cpu->burst = 500;
    r.cpu->realtimePeriod = 1000000;
    r.cpu->realtimeRuntime = 950000;
    r.cpu->idle = 1;
    r.cpu->cpus = "0";
    r.pids.emplace();
    r.pids->limit = 0;  // 0: unlimited
    r.blockIO.emplace();
    r.blockIO->weight = 300;
    r.blockIO->weightDevice.push_back({8, 0, 200, std::nullopt});
    r.blockIO->throttleReadBpsDevice.push_back({8, 0, 4096});
    r.hugepageLimits.push_back({"2MB", 1 << 21});
    r.network.emplace();
    r.network->classID = 0x100001;
    r.network->priorities.push_back({"eth0", 5});
    r.devices.push_back(dev_rule(true, "c", 10, 200, "rwm"));
    // Letters other than r, w, m are ignored as runc does; none left: no rule.
    r.devices.push_back(dev_rule(false, "c", 1, 11, "rwa"));
    r.devices.push_back(dev_rule(true, "c", 1, 12, "xyz"));
    Log log;
    write_v1(h, d.path, r, false);
    CHECK(d.read("memory.limit_in_bytes") == std::to_string(1 << 20));
    CHECK(d.read("memory.memsw.limit_in_bytes") == std::to_string(2 << 20));
    CHECK(d.read("memory.soft_limit_in_bytes") == std::to_string(1 << 19));
    CHECK(d.read("memory.swappiness") == "60");
    CHECK(d.read("memory.oom_control") == "1");
    CHECK(d.read("cpu.shares") == "512");
    CHECK(d.read("cpu.cfs_quota_us") == "20000");
    CHECK(d.read("cpu.cfs_period_us") == "100000");
    CHECK(d.read("cpu.cfs_burst_us") == "500");
    CHECK(d.read("cpu.rt_runtime_us") == "950000");
    CHECK(d.read("cpu.idle") == "1");
    CHECK(d.read("cpuset.cpus") == "0");
    CHECK(d.read("pids.max") == "max");
    CHECK(d.read("blkio.weight") == "300");
    CHECK(d.read("blkio.weight_device") == "8:0 200");
    CHECK(d.read("blkio.throttle.read_bps_device") == "8:0 4096");
    CHECK(d.read("hugetlb.2MB.limit_in_bytes") == std::to_string(1 << 21));
    CHECK(d.read("net_cls.classid") == "1048577");
    CHECK(d.read("net_prio.ifpriomap") == "eth0 5");
    auto first_mem = [](const Log &l) {
        return std::find_if(l.entries.begin(), l.entries.end(), [](auto &e) { return e.first.rfind("memory.", 0) == 0; })->first;
    };
    // Current limit above the new memsw: the limit goes first ...
    CHECK(first_mem(log) == "memory.limit_in_bytes");
    CHECK(log.of("devices.deny") == std::vector<std::string>{"a", "c 1:11 rw"});
    auto allows = log.of("devices.allow");
    REQUIRE(allows.size() == 11);
    CHECK(allows[0] == "c 10:200 rwm");
    CHECK(allows[1] == "c *:* m");

    // ... and below it, memsw first (runc's order keeps memsw >= limit).
    {
        Log raise;
        r.memory->limit = 3 << 20;
        r.memory->swap = 4 << 20;
        write_v1(h, d.path, r, false);
        CHECK(first_mem(raise) == "memory.memsw.limit_in_bytes");
    }

    // update leaves the device rules alone and checks usage when asked.
    Log log2;
    write_file(d.path + "/memory.usage_in_bytes", "999999999\n");
    spec::Resources u;
    u.memory.emplace();
    u.memory->limit = 4096;
    u.memory->checkBeforeUpdate = true;
    u.devices.push_back(dev_rule(true, "a", -1, -1, "rwm"));
    CHECK_THROWS_WITH(write_v1(h, d.path, u, true), Contains("below usage"));
    u.memory->checkBeforeUpdate = false;
    write_v1(h, d.path, u, true);
    CHECK(log2.of("devices.allow").empty());
    CHECK(d.read("memory.limit_in_bytes") == "4096");
    u.memory->swappiness = 101;
    CHECK_THROWS_WITH(write_v1(h, d.path, u, true), Contains("swappiness"));
}

TEST_CASE("device rules simplify like the v1 controller", "[cgroups][devices]") {
    auto set = simplify_device_rules(with_default_devices({dev_rule(false, "a", -1, -1, "rwm")}));
    CHECK_FALSE(set.default_allow);
    REQUIRE(set.exceptions.size() == 10);
    // Sorted by major, minor, type: the wildcards first.
    CHECK(set.exceptions[0].type == "b");
    CHECK(*set.exceptions[0].major == -1);
    CHECK(set.exceptions[0].access == "m");
    CHECK(set.exceptions[1].type == "c");

    // allow-all then a deny: a deny list.
    auto bl = simplify_device_rules({dev_rule(true, "a", -1, -1, "rwm"), dev_rule(false, "c", 1, 3, "w")});
    CHECK(bl.default_allow);
    REQUIRE(bl.exceptions.size() == 1);
    CHECK(bl.exceptions[0].access == "w");
    CHECK_FALSE(bl.exceptions[0].allow);

    // Merging and narrowing exceptions.
    auto m = simplify_device_rules({dev_rule(true, "c", 1, 3, "r"), dev_rule(true, "c", 1, 3, "w"),
                                    dev_rule(true, "c", 1, 5, "rwm"), dev_rule(false, "c", 1, 5, "rwm")});
    REQUIRE(m.exceptions.size() == 1);
    CHECK(m.exceptions[0].access == "rw");
    // No hole in a wildcard exception.
    CHECK_THROWS_WITH(simplify_device_rules({dev_rule(true, "c", -1, -1, "rwm"), dev_rule(false, "c", 1, 3, "r")}),
                      Contains("wildcard"));
    // runc's emulator keeps only r, w, m: "wa" allows w; "a" allows nothing.
    auto odd = simplify_device_rules({dev_rule(true, "c", 1, 11, "wa"), dev_rule(true, "c", 1, 12, "a")});
    REQUIRE(odd.exceptions.size() == 1);
    CHECK(odd.exceptions[0].access == "w");
    CHECK(device_access("") == "rwm");
    CHECK(device_access("mwrq") == "rwm");
}

TEST_CASE("device filter program: runc's shape", "[cgroups][devices]") {
    DeviceRuleset set;
    auto prog = device_filter(set);  // deny everything
    REQUIRE(prog.size() == 8);       // 6 loads + mov r0,0 + exit
    CHECK(prog[6].code == (BPF_ALU | BPF_MOV | BPF_K));
    CHECK(prog[6].imm == 0);
    CHECK(prog[7].code == (BPF_JMP | BPF_EXIT));

    set.exceptions.push_back(dev_rule(true, "c", 1, 3, "rwm"));  // full access: no access check
    set.exceptions.push_back(dev_rule(true, "b", -1, -1, "m"));  // no major/minor checks
    prog = device_filter(set);
    // 6 + (type, major, minor, mov, exit) + (type, 3 access, mov, exit) + 2
    REQUIRE(prog.size() == 6 + 5 + 6 + 2);
    CHECK(prog[6].code == (BPF_JMP | BPF_JNE | BPF_K));
    CHECK(prog[6].imm == BPF_DEVCG_DEV_CHAR);
    CHECK(prog[6].off == 4);  // to the next block
    CHECK(prog[7].imm == 1);  // major
    CHECK(prog[8].imm == 3);  // minor
    CHECK(prog[9].imm == 1);  // allow
    CHECK(prog[11].imm == BPF_DEVCG_DEV_BLOCK);
    CHECK(prog[13].imm == BPF_DEVCG_ACC_MKNOD);
    CHECK(prog[14].code == (BPF_JMP | BPF_JNE | BPF_X));
    CHECK(prog[14].off == 2);
    CHECK(prog.back().code == (BPF_JMP | BPF_EXIT));
}

// Loads and attaches for real where this runs as root with a cgroup2 mount:
// a child in a test-only cgroup may open /dev/null but not /dev/zero.
TEST_CASE("device filter attaches and filters", "[cgroups][devices][root]") {
    std::string mount;
    for (const char *m : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
        struct statfs fs;
        if (::statfs(m, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
            mount = m;
            break;
        }
    }
    if (::geteuid() != 0 || mount.empty()) {
        WARN("skipped: needs root and a cgroup2 mount");
        return;
    }
    std::string dir = mount + "/kiln-unit-bpf-" + std::to_string(::getpid());
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    auto rules = with_default_devices({dev_rule(false, "a", -1, -1, "rwm")});
    rules.erase(rules.begin() + 7);  // c 1:5 (zero) left out
    attach_device_filter(dir, device_filter(simplify_device_rules(rules)));
    attach_device_filter(dir, device_filter(simplify_device_rules(rules)));  // replaces, not stacks
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        char c;
        if (::read(p[0], &c, 1) != 1) ::_exit(9);
        int ok = ::open("/dev/null", O_RDONLY) >= 0 ? 1 : 0;
        int denied = ::open("/dev/zero", O_RDONLY) < 0 && errno == EPERM ? 2 : 0;
        ::_exit(ok | denied);
    }
    write_file(dir + "/cgroup.procs", std::to_string(pid));
    REQUIRE(::write(p[1], "x", 1) == 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(p[0]);
    ::close(p[1]);
    ::rmdir(dir.c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 3);
}

TEST_CASE("systemd cgroupsPath and slices", "[cgroups][systemd]") {
    auto u = parse_systemd_path("", "c1");
    CHECK(u.slice == "system.slice");
    CHECK(u.name == "kiln-c1.scope");
    CHECK(u.path == "/system.slice/kiln-c1.scope");
    u = parse_systemd_path("machine-test.slice:docker:abc", "c1");
    CHECK(u.slice == "machine-test.slice");
    CHECK(u.name == "docker-abc.scope");
    CHECK(u.path == "/machine.slice/machine-test.slice/docker-abc.scope");
    u = parse_systemd_path(":pre:name", "c1");
    CHECK(u.path == "/system.slice/pre-name.scope");
    u = parse_systemd_path("system.slice:x:my-app.slice", "c1");
    CHECK(u.name == "my-app.slice");
    CHECK(u.path == "/my.slice/my-app.slice");
    CHECK(expand_slice("-.slice") == "/");
    CHECK_THROWS_WITH(parse_systemd_path("/abs/path", "c1"), Contains("linux.cgroupsPath") && Contains("slice:prefix:name"));
    CHECK_THROWS_WITH(parse_systemd_path("a:b", "c1"), Contains("slice:prefix:name"));
    CHECK_THROWS_WITH(parse_systemd_path("bad--x.slice:p:n", "c1"), Contains("invalid slice name"));
    CHECK_THROWS_WITH(parse_systemd_path("noslice:p:n", "c1"), Contains("invalid slice name"));
    CHECK_THROWS_WITH(parse_systemd_path("system.slice:p:", "c1"), Contains("linux.cgroupsPath"));
}

TEST_CASE("systemd properties from resources, as runc maps them", "[cgroups][systemd]") {
    spec::Resources r;
    r.memory.emplace();
    r.memory->limit = 1LL << 30;
    r.memory->swap = 2LL << 30;
    r.memory->reservation = 1LL << 29;
    r.cpu.emplace();
    r.cpu->shares = 1024;
    r.cpu->quota = 12345;
    r.cpu->period = 100000;
    r.cpu->cpus = "0-2,9";
    r.pids.emplace();
    r.pids->limit = 10;
    auto props = resource_properties(r, true, false);
    auto find = [&](const char *name) -> const Property & {
        for (auto &p : props)
            if (p.name == name) return p;
        FAIL(std::string("no property ") + name);
        throw 0;
    };
    CHECK(find("MemoryMax").u == (1ull << 30));
    CHECK(find("MemorySwapMax").u == (1ull << 30));
    CHECK(find("MemoryLow").u == (1ull << 29));
    CHECK(find("CPUWeight").u == 39);
    CHECK(find("CPUQuotaPeriodUSec").u == 100000);
    CHECK(find("CPUQuotaPerSecUSec").u == 130000);  // 123450 rounded up to 10ms
    CHECK(find("TasksMax").u == 10);
    CHECK(find("AllowedCPUs").bytes == std::vector<uint8_t>{0x07, 0x02});
    auto v1 = resource_properties(r, false, false);
    CHECK(v1[0].name == "MemoryLimit");
    CHECK(cpuset_bits("8", "f") == std::vector<uint8_t>{0, 1});
    CHECK_THROWS_WITH(cpuset_bits("3-1", "linux.resources.cpu.cpus"), Contains("linux.resources.cpu.cpus"));

    spec::Resources dev;
    auto dp = resource_properties(dev, true, true);
    REQUIRE(dp.size() == 2);
    CHECK(dp[0].name == "DevicePolicy");
    CHECK(dp[0].s == "strict");
    CHECK(dp[1].sig == "a(ss)");
    bool has_null = false, has_char_any = false;
    for (auto &[path, access] : dp[1].pairs) {
        has_null |= path == "/dev/char/1:3" && access == "rwm";
        has_char_any |= path == "char-*" && access == "m";
    }
    CHECK(has_null);
    CHECK(has_char_any);
}

TEST_CASE("org.systemd.property annotations", "[cgroups][systemd]") {
    auto props = annotation_properties({{"org.systemd.property.TimeoutStopSec", "5"},
                                        {"org.systemd.property.CollectMode", "'inactive-or-failed'"},
                                        {"org.systemd.property.MemoryHigh", "uint64 1000"},
                                        {"org.systemd.property.IOAccounting", "false"},
                                        {"other", "x"}});
    REQUIRE(props.size() == 4);
    // std::map order: CollectMode, IOAccounting, MemoryHigh, TimeoutStopSec.
    CHECK(props[0].sig == "s");
    CHECK(props[0].s == "inactive-or-failed");
    CHECK(props[1].sig == "b");
    CHECK_FALSE(props[1].b);
    CHECK(props[2].sig == "t");
    CHECK(props[2].u == 1000);
    CHECK(props[3].name == "TimeoutStopUSec");
    CHECK(props[3].u == 5000000);
    CHECK_THROWS_WITH(annotation_properties({{"org.systemd.property.Bad_Name", "1"}}), Contains("non-alphabetic"));
    CHECK_THROWS_WITH(annotation_properties({{"org.systemd.property.Foo", "uint64 x"}}), Contains("parse error"));
}

// runc's rootless rule: no cgroup (no permission) is fine only while the
// config limits nothing and names no cgroupsPath. /sys/kernel refuses mkdir
// with EPERM, even for root.
TEST_CASE("cgroupfs manager without permission: rootless goes on only without limits", "[cgroups]") {
    Hierarchy h;
    h.mount = "/sys/kernel";
    h.controllers = "pids";
    Options o;
    o.id = "kiln-unit-rootless";
    o.rootless = true;
    FsManager quiet({h}, o);
    quiet.create(nullptr);
    CHECK(quiet.dirs().empty());
    quiet.join(::getpid());  // nothing to join
    quiet.destroy();

    spec::Resources r;
    r.pids.emplace();
    r.pids->limit = 10;
    FsManager limited({h}, o);
    CHECK_THROWS_WITH(limited.create(&r), Contains("rootless needs no limits + no cgrouppath when no permission is granted for cgroups"));

    o.cgroups_path = "/kiln-unit-rootless";
    FsManager with_path({h}, o);
    CHECK_THROWS_WITH(with_path.create(nullptr), Contains("unable to apply cgroup configuration: mkdir /sys/kernel/kiln-unit-rootless"));

    o.rootless = false;
    FsManager root({h}, o);
    CHECK_THROWS_WITH(root.create(nullptr), Contains("mkdir /sys/kernel/kiln-unit-rootless"));
}

TEST_CASE("cgroupfs manager: a limit without its v1 hierarchy is an error and leaves nothing", "[cgroups]") {
    FakeDir root({});
    Hierarchy h;
    h.mount = root.path;
    h.controllers = "pids";
    Options o;
    o.cgroups_path = "/parent/c1";
    o.id = "c1";
    spec::Resources r;
    r.hugepageLimits.push_back({"2MB", 1 << 21});
    FsManager m({h}, o);
    REQUIRE(m.dirs() == std::vector<std::string>{root.path + "/parent/c1"});
    CHECK_THROWS_WITH(m.create(&r), Contains("linux.resources.hugepageLimits") && Contains("no hugetlb cgroup hierarchy"));
    struct stat st;
    CHECK(::stat((root.path + "/parent").c_str(), &st) < 0);
}

TEST_CASE("events --stats: psi and peaks from a cgroup v2 directory", "[cgroups]") {
    char tmpl[] = "/tmp/kiln-unit-stats.XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    auto put = [&](const char *name, const char *text) {
        FILE *f = std::fopen((dir + "/" + name).c_str(), "w");
        REQUIRE(f);
        std::fputs(text, f);
        std::fclose(f);
    };
    // cpu.pressure without a "full" line, as before Linux 5.13.
    put("cpu.pressure", "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\n");
    put("memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\nfull avg10=99.99 avg60=0.01 avg300=2.00 total=5\n");
    put("io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    put("memory.current", "4096\n");
    put("memory.peak", "8192\n");
    put("memory.swap.peak", "1024\n");
    Hierarchy v2;
    v2.v2 = true;
    json::Writer w;
    write_stats(w, {v2}, {dir}, 0);
    auto d = json::Doc::parse(w.str(), "stats");
    CHECK(d.get_int({"cpu", "psi", "some", "total"}) == 12345);
    CHECK(d.get_int({"cpu", "psi", "full", "total"}) == 0);
    CHECK(d.get_int({"memory", "psi", "full", "total"}) == 5);
    CHECK(d.get_int({"blkio", "psi", "some", "total"}) == 0);
    CHECK(d.get_int({"memory", "usage", "max"}) == 8192);
    CHECK(d.get_int({"memory", "swap", "max"}) == 1024);
    // the averages are numbers as the kernel wrote them
    CHECK(w.str().find(R"("some":{"avg10":1.5,"avg60":0.25,"avg300":0,"total":12345})") != std::string::npos);
    CHECK(w.str().find(R"("full":{"avg10":99.99,"avg60":0.01,"avg300":2,"total":5})") != std::string::npos);
    // No pressure files (psi=0): no psi objects.
    for (const char *f : {"cpu.pressure", "memory.pressure", "io.pressure"}) ::unlink((dir + "/" + f).c_str());
    json::Writer w2;
    write_stats(w2, {v2}, {dir}, 0);
    CHECK(w2.str().find("psi") == std::string::npos);
    for (const char *f : {"memory.current", "memory.peak", "memory.swap.peak"}) ::unlink((dir + "/" + f).c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("RealFiles::write_each writes each value in order through one open", "[cgroups]") {
    FakeDir d({"devices.allow"});
    RealFiles().write_each(d.path, "devices.allow", {"c 1:3 rwm", "c 1:5 rwm"});
    // A regular file keeps both writes (one open, no truncation between them).
    CHECK(d.read("devices.allow") == "c 1:3 rwmc 1:5 rwm");
    CHECK_THROWS_WITH(RealFiles().write_each(d.path, "missing", {"a"}), Contains("open " + d.path + "/missing"));
}
