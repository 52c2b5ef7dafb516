// What state.json records of a container's cgroup: the driver and each
// hierarchy's mount and the container's path in it, read back as written
// and acted on without a look at today's mounts; an older kiln's positional
// "cgroup_dirs" still reads (and deletes).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "cgroups/cgroup.hpp"
#include "cgroups/fs.hpp"
#include "cgroups/systemd.hpp"
#include "container/state.hpp"
#include "util/fd.hpp"

using namespace kiln;

namespace {

struct Tmp {
    std::string path;
    Tmp() {
        char tmpl[] = "/tmp/kiln-unit-cgstate.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~Tmp() {
        std::string cmd = "rm -rf '" + path + "'";
        (void)!std::system(cmd.c_str());
    }
};

cgroups::Hierarchy hier(const std::string &mount, const std::string &controllers, bool v2) {
    cgroups::Hierarchy h;
    h.mount = mount;
    h.controllers = controllers;
    h.v2 = v2;
    return h;
}

// A hybrid host's record with mounts that are no host's: nothing may re-match them.
cgroups::Record hybrid_record(const std::string &base) {
    cgroups::Record r;
    r.driver = cgroups::Driver::hybrid;
    r.hs = {hier(base + "/pids", "pids", false), hier(base + "/freezer", "freezer", false), hier(base + "/unified", "", true)};
    r.dirs = {base + "/pids/kiln/c1", base + "/freezer/kiln/c1", base + "/unified/kiln/c1"};
    return r;
}

std::string saved(const Tmp &t, const StoredState &s) {
    auto sd = StateDir::create(t.path + "/root", s.id, s);
    return read_file(t.path + "/root/" + s.id + "/state.json");
}

}  // namespace

TEST_CASE("cgroup record: driver, mounts and paths round-trip through state.json", "[cgroups][state]") {
    Tmp t;
    StoredState s;
    s.id = "c1";
    s.cgroup = hybrid_record("/x/cg");
    std::string text = saved(t, s);
    CHECK(text.find(R"("cgroup":{"driver":"hybrid","hierarchies":[)") != std::string::npos);
    CHECK(text.find(R"({"mount":"/x/cg/pids","type":"cgroup","controllers":"pids","path":"/kiln/c1"})") !=
          std::string::npos);
    CHECK(text.find(R"({"mount":"/x/cg/unified","type":"cgroup2","controllers":"","path":"/kiln/c1"})") !=
          std::string::npos);
    CHECK(text.find("cgroup_dirs") == std::string::npos);
    auto back = parse_state(text, "state.json").cgroup;
    CHECK(back.driver == cgroups::Driver::hybrid);
    CHECK(back.unit.empty());
    CHECK(back.dirs == s.cgroup.dirs);
    REQUIRE(back.hs.size() == 3);
    CHECK(back.hs[0].mount == "/x/cg/pids");
    CHECK(back.hs[1].controllers == "freezer");
    CHECK_FALSE(back.hs[1].v2);
    CHECK(back.hs[2].v2);
    // The manager works on the recorded hierarchies, not on the host's.
    auto m = cgroups::open(back);
    CHECK(m->dirs() == s.cgroup.dirs);
    auto again = m->record();
    CHECK(again.driver == cgroups::Driver::hybrid);
    REQUIRE(again.hs.size() == 3);
    CHECK(again.hs[1].mount == "/x/cg/freezer");
    CHECK(cgroups::hierarchies_of(back)[2].mount == "/x/cg/unified");
}

TEST_CASE("cgroup record: the systemd driver keeps its unit; a dir at a hierarchy's root is path /", "[cgroups][state]") {
    Tmp t;
    StoredState s;
    s.id = "c2";
    s.cgroup.driver = cgroups::Driver::systemd;
    s.cgroup.unit = "kiln-c2.scope";
    s.cgroup.hs = {hier("/sys/fs/cgroup", "", true)};
    s.cgroup.dirs = {"/sys/fs/cgroup"};
    std::string text = saved(t, s);
    CHECK(text.find(R"("driver":"systemd","unit":"kiln-c2.scope")") != std::string::npos);
    CHECK(text.find(R"("path":"/")") != std::string::npos);
    auto back = parse_state(text, "state.json").cgroup;
    CHECK(back.driver == cgroups::Driver::systemd);
    CHECK(back.unit == "kiln-c2.scope");
    CHECK(back.dirs == s.cgroup.dirs);
    // No cgroup at all: no member, and it reads back empty.
    StoredState none;
    none.id = "c3";
    std::string bare = saved(t, none);
    CHECK(bare.find("cgroup") == std::string::npos);
    CHECK(parse_state(bare, "state.json").cgroup.empty());
}

TEST_CASE("cgroup record: an older kiln's positional cgroup_dirs still read, save and delete", "[cgroups][state]") {
    Tmp t;
    std::string dir = t.path + "/cg/pids/kiln/old1";
    REQUIRE(::mkdir((t.path + "/cg").c_str(), 0755) == 0);
    REQUIRE(::mkdir((t.path + "/cg/pids").c_str(), 0755) == 0);
    REQUIRE(::mkdir((t.path + "/cg/pids/kiln").c_str(), 0755) == 0);
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    std::string old = R"({"id":"old1","ociVersion":"1.2.0","bundle":"/b","rootfs":"/b/rootfs","created":"","pid":0,)"
                      R"("start_time":0,"own_pid_ns":true,"has_process":true,"annotations":{},)"
                      R"("cgroup_dirs":{"0":")" + dir + R"("},"cgroup_unit":"kiln-old1.scope"})";
    auto s = parse_state(old, "state.json");
    CHECK(s.cgroup.dirs == std::vector<std::string>{dir});
    CHECK(s.cgroup.unit == "kiln-old1.scope");
    CHECK(s.cgroup.hs.empty());  // matched against today's hierarchies only when opened
    // Saved again (pause, a later command): still the old form, nothing lost.
    std::string text = saved(t, s);
    CHECK(text.find(R"("cgroup_dirs":{"0":")" + dir + "\"}") != std::string::npos);
    CHECK(text.find(R"("cgroup_unit":"kiln-old1.scope")") != std::string::npos);
    CHECK(text.find(R"("cgroup":{)") == std::string::npos);
    // delete: the dirs go without any hierarchy lookup (no unit: cgroupfs).
    s.cgroup.unit.clear();
    cgroups::destroy(s.cgroup);
    CHECK(::access(dir.c_str(), F_OK) != 0);
    CHECK(::access((t.path + "/cg/pids/kiln").c_str(), F_OK) == 0);
}

TEST_CASE("cgroup record: driver names", "[cgroups][state]") {
    for (auto d : {cgroups::Driver::v1, cgroups::Driver::hybrid, cgroups::Driver::v2, cgroups::Driver::systemd})
        CHECK(cgroups::driver_from(cgroups::driver_name(d)) == d);
    CHECK(cgroups::driver_from("bogus") == cgroups::Driver::none);
    CHECK(std::string(cgroups::driver_name(cgroups::Driver::none)).empty());
    // An FsManager's record names its layout; without dirs (rootless, no cgroup) it is empty.
    cgroups::FsManager v2({hier("/sys/fs/cgroup", "", true)}, std::vector<std::string>{"/sys/fs/cgroup/c"});
    CHECK(v2.record().driver == cgroups::Driver::v2);
    cgroups::FsManager v1({hier("/a/pids", "pids", false)}, std::vector<std::string>{"/a/pids/c"});
    CHECK(v1.record().driver == cgroups::Driver::v1);
    cgroups::FsManager none({hier("/a/pids", "pids", false)}, std::vector<std::string>{});
    CHECK(none.record().empty());
    CHECK(none.record().hs.empty());
}

TEST_CASE("cgroup record: a systemd container opens as the systemd driver on its recorded hierarchies", "[cgroups][state][systemd]") {
    cgroups::Record r;
    r.driver = cgroups::Driver::systemd;
    r.unit = "kt-c9.scope";
    r.hs = {hier("/x/cg", "", true)};
    r.dirs = {"/x/cg/system.slice/kt-c9.scope"};
    auto m = cgroups::open(r);  // no bus call until a unit is started or stopped
    auto back = m->record();
    CHECK(back.driver == cgroups::Driver::systemd);
    CHECK(back.unit == "kt-c9.scope");
    REQUIRE(back.hs.size() == 1);
    CHECK(back.hs[0].mount == "/x/cg");
    CHECK(m->dirs() == r.dirs);
    CHECK(cgroups::split_fields("a::b:", ':') == std::vector<std::string>{"a", "", "b", ""});
}

// list leaves the record unparsed until a started container's freezer is asked.
TEST_CASE("cgroup record: list defers it, and a \"cgroup\" annotation does not fool the cut", "[cgroups][state]") {
    Tmp t;
    StoredState s;
    s.id = "c1";
    s.annotations["cgroup"] = "{\"driver\":\"v2\"}";
    s.annotations["a"] = "b";
    s.rdt.root = "/sys/fs/resctrl";
    s.rdt.path = "/sys/fs/resctrl/c1";
    s.cgroup = hybrid_record("/x/cg");
    std::string text = saved(t, s);
    CHECK(text.compare(text.size() - 2, 2, "}}") == 0);
    StoredState d = load_state_at(AT_FDCWD, t.path + "/root/c1", "c1", /*defer_cgroup=*/true);
    CHECK(d.cgroup.empty());
    CHECK(d.cgroup_deferred.rfind("{\"cgroup\":{\"driver\":\"hybrid\"", 0) == 0);
    CHECK(d.annotations.at("cgroup") == "{\"driver\":\"v2\"}");
    CHECK(d.rdt.path == "/sys/fs/resctrl/c1");
    cgroups::Record r = deferred_cgroup(d, "c1");
    CHECK(r.dirs == s.cgroup.dirs);
    REQUIRE(r.hs.size() == 3);
    CHECK(r.hs[2].v2);
    // without the deferral, the same record directly
    StoredState full = load_state_at(AT_FDCWD, t.path + "/root/c1", "c1");
    CHECK(full.cgroup_deferred.empty());
    CHECK(full.cgroup.dirs == s.cgroup.dirs);
    CHECK(deferred_cgroup(full, "c1").dirs == s.cgroup.dirs);
}
