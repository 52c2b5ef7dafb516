// The cgroupfs driver through the write seam's fake, without root: what a
// typical config writes on a v1 (hybrid) and a v2 host, in order, and what
// create, freeze and destroy do to the tree.
#include <catch2/catch.hpp>

#include <algorithm>

#include "cgroups/fs.hpp"
#include "kiln/error.hpp"

using namespace kiln;
using namespace kiln::cgroups;
using Catch::Matchers::Contains;

namespace {

Hierarchy hier(const std::string &mount, const std::string &controllers, bool v2 = false) {
    Hierarchy h;
    h.mount = mount;
    h.controllers = controllers;
    h.v2 = v2;
    h.own = "/";
    return h;
}

// A hybrid host's v1 hierarchies with the files the writers look for.
struct HybridHost {
    FakeFiles fs;
    UseFiles use{fs};
    std::vector<Hierarchy> hs{hier("/cg/memory", "memory"), hier("/cg/cpu,cpuacct", "cpu,cpuacct"),
                              hier("/cg/cpuset", "cpuset"),  hier("/cg/pids", "pids"),
                              hier("/cg/devices", "devices"), hier("/cg/freezer", "freezer"),
                              hier("/cg/unified", "", true)};
    HybridHost() {
        fs.add("/cg/memory", {{"cgroup.procs", ""}, {"memory.limit_in_bytes", ""}, {"memory.memsw.limit_in_bytes", ""},
                              {"memory.soft_limit_in_bytes", ""}, {"memory.swappiness", ""}});
        fs.add("/cg/cpu,cpuacct", {{"cgroup.procs", ""}, {"cpu.shares", ""}, {"cpu.cfs_period_us", ""}, {"cpu.cfs_quota_us", ""}});
        fs.add("/cg/cpuset", {{"cgroup.procs", ""}, {"cpuset.cpus", "0-3\n"}, {"cpuset.mems", "0\n"}});
        fs.add("/cg/pids", {{"cgroup.procs", ""}, {"pids.max", ""}});
        fs.add("/cg/devices", {{"cgroup.procs", ""}, {"devices.allow", ""}, {"devices.deny", ""}});
        fs.add("/cg/freezer", {{"cgroup.procs", ""}, {"freezer.state", ""}});
        fs.add("/cg/unified", {{"cgroup.procs", ""}, {"cgroup.controllers", ""}, {"memory.max", ""}});
    }
};

spec::Resources typical() {
    spec::Resources r;
    r.memory.emplace();
    r.memory->limit = 64 << 20;
    r.memory->swap = 128 << 20;
    r.memory->reservation = 32 << 20;
    r.cpu.emplace();
    r.cpu->shares = 512;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    r.cpu->cpus = "0-1";
    r.pids.emplace();
    r.pids->limit = 100;
    spec::DeviceRule deny;
    deny.allow = false;
    deny.access = "rwm";
    spec::DeviceRule null;
    null.allow = true;
    null.type = "c";
    null.major = 1;
    null.minor = 3;
    null.access = "rw";
    r.devices = {deny, null};
    return r;
}

Options opts(const std::string &path) {
    Options o;
    o.cgroups_path = path;
    o.id = "c1";
    return o;
}

}  // namespace

TEST_CASE("fs driver, hybrid: create makes the dirs and writes a typical config in runc's order", "[cgroups][fs]") {
    HybridHost host;
    FsManager m(host.hs, opts("/kiln/c1"));
    auto res = typical();
    m.create(&res);
    auto &fs = host.fs;
    for (auto &h : host.hs) CHECK(fs.dirs.count(h.mount + "/kiln/c1"));
    CHECK(m.dirs().front() == "/cg/memory/kiln/c1");
    // memory: memsw first when it grows past the current limit
    CHECK(fs.writes("/cg/memory/kiln/c1/memory.memsw.limit_in_bytes") == std::vector<std::string>{"134217728"});
    CHECK(fs.writes("/cg/memory/kiln/c1/memory.limit_in_bytes") == std::vector<std::string>{"67108864"});
    CHECK(fs.writes("/cg/memory/kiln/c1/memory.soft_limit_in_bytes") == std::vector<std::string>{"33554432"});
    auto at = [&](const std::string &path) {
        return std::find_if(fs.log.begin(), fs.log.end(), [&](auto &op) { return op.path == path; }) - fs.log.begin();
    };
    CHECK(at("/cg/memory/kiln/c1/memory.memsw.limit_in_bytes") < at("/cg/memory/kiln/c1/memory.limit_in_bytes"));
    CHECK(fs.writes("/cg/cpu,cpuacct/kiln/c1/cpu.shares") == std::vector<std::string>{"512"});
    CHECK(at("/cg/cpu,cpuacct/kiln/c1/cpu.cfs_period_us") < at("/cg/cpu,cpuacct/kiln/c1/cpu.cfs_quota_us"));
    // cpuset: each new level gets its parent's cpus and mems before the container's own
    CHECK(fs.writes("/cg/cpuset/kiln/cpuset.cpus") == std::vector<std::string>{"0-3\n"});
    CHECK(fs.writes("/cg/cpuset/kiln/c1/cpuset.cpus") == std::vector<std::string>{"0-3\n", "0-1"});
    CHECK(fs.writes("/cg/cpuset/kiln/c1/cpuset.mems") == std::vector<std::string>{"0\n"});
    CHECK(fs.writes("/cg/pids/kiln/c1/pids.max") == std::vector<std::string>{"100"});
    // devices: deny all, the config's rules, then runc's defaults
    // The spec's own "deny a" right after kiln's is left out.
    CHECK(fs.writes("/cg/devices/kiln/c1/devices.deny") == std::vector<std::string>{"a"});
    auto allows = fs.writes("/cg/devices/kiln/c1/devices.allow");
    REQUIRE(allows.size() == 11);
    CHECK(allows[0] == "c 1:3 rw");
    CHECK(allows[1] == "c *:* m");
    // the hybrid host's cgroup2 mount is joined only: nothing written there
    CHECK(fs.writes("/cg/unified/kiln/c1/memory.max").empty());
    // the record names the layout and every hierarchy
    auto rec = m.record();
    CHECK(rec.driver == Driver::hybrid);
    CHECK(rec.dirs.size() == host.hs.size());
}

TEST_CASE("fs driver, hybrid: freeze, join, destroy and the undo of a failed create", "[cgroups][fs]") {
    HybridHost host;
    FsManager m(host.hs, opts("/kiln/c1"));
    m.create(nullptr);
    m.join(4242);
    CHECK(host.fs.writes("/cg/pids/kiln/c1/cgroup.procs") == std::vector<std::string>{"4242"});
    m.freeze(true);  // the fake's freezer.state reads back what was written
    CHECK(host.fs.writes("/cg/freezer/kiln/c1/freezer.state") == std::vector<std::string>{"FROZEN"});
    CHECK(m.frozen());
    for (auto &d : m.dirs()) host.fs.content[d + "/cgroup.procs"] = "";  // the container is gone
    m.destroy();
    for (auto &h : host.hs) {
        CHECK_FALSE(host.fs.dirs.count(h.mount + "/kiln/c1"));
        CHECK(host.fs.dirs.count(h.mount + "/kiln"));  // the parent is not the container's
    }
    // A limit whose write fails: every dir the create made is removed again.
    HybridHost again;
    again.fs.fail["/cg/pids/kiln/c2/pids.max"] = EINVAL;
    FsManager m2(again.hs, opts("/kiln/c2"));
    spec::Resources r;
    r.pids.emplace();
    r.pids->limit = 5;
    CHECK_THROWS_WITH(m2.create(&r), Contains("pids.max"));
    for (auto &h : again.hs) CHECK_FALSE(again.fs.dirs.count(h.mount + "/kiln"));
}

TEST_CASE("fs driver: rootless without permission goes on without a cgroup", "[cgroups][fs]") {
    HybridHost host;
    for (auto &h : host.hs) host.fs.fail[h.mount + "/c1"] = EACCES;
    Options o = opts("");
    o.rootless = true;
    FsManager m(host.hs, o);
    m.create(nullptr);
    CHECK(m.dirs().empty());
    CHECK(m.record().empty());
    spec::Resources r;
    r.pids.emplace();
    r.pids->limit = 5;
    FsManager limited(host.hs, o);
    CHECK_THROWS_WITH(limited.create(&r), Contains("rootless needs no limits"));
}

TEST_CASE("fs driver, v2: controllers enabled down the path, a typical config in the unified files", "[cgroups][fs]") {
    FakeFiles fs;
    UseFiles use(fs);
    std::map<std::string, std::string> files{{"cgroup.procs", ""},  {"cgroup.controllers", "cpu memory pids\n"},
                                             {"cgroup.subtree_control", ""}, {"memory.max", ""},
                                             {"memory.swap.max", ""}, {"memory.low", ""},
                                             {"cpu.weight", ""},  {"cpu.max", ""},
                                             {"cpuset.cpus", ""}, {"pids.max", ""}};
    fs.add("/cg", files);
    fs.add("/cg/kiln", files);
    fs.add("/cg/kiln/c1", files);
    enable_controllers("/cg", "/kiln/c1");
    CHECK(fs.writes("/cg/cgroup.subtree_control") == std::vector<std::string>{"+cpu +memory +pids"});
    CHECK(fs.writes("/cg/kiln/cgroup.subtree_control") == std::vector<std::string>{"+cpu +memory +pids"});
    CHECK(fs.writes("/cg/kiln/c1/cgroup.subtree_control").empty());
    FsManager m({hier("/cg", "", true)}, std::vector<std::string>{"/cg/kiln/c1"});
    m.update(typical());
    CHECK(fs.writes("/cg/kiln/c1/memory.max") == std::vector<std::string>{"67108864"});
    CHECK(fs.writes("/cg/kiln/c1/memory.swap.max") == std::vector<std::string>{"67108864"});  // memory+swap - memory
    CHECK(fs.writes("/cg/kiln/c1/memory.low") == std::vector<std::string>{"33554432"});
    CHECK(fs.writes("/cg/kiln/c1/cpu.weight") == std::vector<std::string>{std::to_string(shares_to_weight(512))});
    CHECK(fs.writes("/cg/kiln/c1/cpu.max") == std::vector<std::string>{"50000 100000"});
    CHECK(fs.writes("/cg/kiln/c1/cpuset.cpus") == std::vector<std::string>{"0-1"});
    CHECK(fs.writes("/cg/kiln/c1/pids.max") == std::vector<std::string>{"100"});
    // update leaves devices alone (and v2 has no device files: the eBPF program)
    CHECK(fs.log.front().path == "/cg/cgroup.subtree_control");
    CHECK(m.record().driver == Driver::v2);
}

TEST_CASE("oom watch: the count from memory.events, kept once the cgroup is gone", "[cgroups][fs]") {
    FakeFiles fs;
    UseFiles use(fs);
    fs.add("/cg/kiln/c1", {{"memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"}});
    Record r;
    r.driver = Driver::systemd;
    r.hs = {hier("/cg", "", true)};
    r.dirs = {"/cg/kiln/c1"};
    OomWatch w(r);
    CHECK(w.count() == 1);
    fs.content["/cg/kiln/c1/memory.events"] = "oom 2\noom_kill 2\n";
    CHECK(w.wait(0.001) == 2);
    fs.content.erase("/cg/kiln/c1/memory.events");  // systemd removed the scope's cgroup
    fs.dirs.erase("/cg/kiln/c1");
    CHECK(w.count() == 2);
    // v1: memory.oom_control's counter; no memory controller: 0
    FakeFiles v1;
    UseFiles use1(v1);
    v1.add("/cg/memory/c2", {{"memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"}});
    Record r1;
    r1.hs = {hier("/cg/pids", "pids"), hier("/cg/memory", "memory")};
    r1.dirs = {"/cg/pids/c2", "/cg/memory/c2"};
    CHECK(OomWatch(r1).count() == 3);
    r1.hs.pop_back();
    r1.dirs.pop_back();
    CHECK(OomWatch(r1).count() == 0);
}
