// linux.intelRdt against a directory laid out like a resctrl mount (this
// host has no resctrl): which group, what is written, what is removed.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "kiln/error.hpp"
#include "linux/resctrl.hpp"
#include "util/fd.hpp"

using namespace kiln;

namespace {

bool exists(const std::string &p) { return ::access(p.c_str(), F_OK) == 0; }

void make_file(const std::string &p, const std::string &text) {
    FILE *f = std::fopen(p.c_str(), "w");
    REQUIRE(f);
    std::fputs(text.c_str(), f);
    std::fclose(f);
}

struct FakeResctrl {
    std::string root;
    FakeResctrl() {
        char tmpl[] = "/tmp/kiln-unit-resctrl.XXXXXX";
        root = ::mkdtemp(tmpl);
        for (const char *d : {"/info", "/info/L3", "/info/MB", "/info/L3_MON"}) ::mkdir((root + d).c_str(), 0755);
        make_file(root + "/info/last_cmd_status", "ok\n");
    }
    // A group as resctrl makes one: its files exist from the start.
    void group(const std::string &dir) {
        ::mkdir(dir.c_str(), 0755);
        make_file(dir + "/schemata", "");
        make_file(dir + "/tasks", "");
        ::mkdir((dir + "/mon_groups").c_str(), 0755);
    }
    std::string read(const std::string &p) {
        std::string s;
        REQUIRE(try_read_file(p, s));
        return s;
    }
    ~FakeResctrl() {
        std::string cmd = "rm -rf '" + root + "'";
        (void)!std::system(cmd.c_str());
    }
};

}  // namespace

TEST_CASE("resctrl: a host without resctrl refuses linux.intelRdt naming the field") {
    spec::IntelRdt r;
    CHECK_THROWS_WITH(resctrl::check(r, ""), Catch::Matchers::StartsWith("config.json: linux.intelRdt: intelRdt is specified"));
    FakeResctrl f;
    ::rmdir((f.root + "/info/MB").c_str());
    r.memBwSchema = "MB:0=20";
    CHECK_THROWS_WITH(resctrl::check(r, f.root), Catch::Matchers::StartsWith("config.json: linux.intelRdt.memBwSchema:"));
    r.memBwSchema.clear();
    r.l3CacheSchema = "L3:0=f";
    r.enableMonitoring = true;
    CHECK_NOTHROW(resctrl::check(r, f.root));
}

TEST_CASE("resctrl: a named group is joined, its schemata written, a monitoring group made and removed") {
    FakeResctrl f;
    f.group(f.root + "/shared");
    spec::IntelRdt r;
    r.closID = "shared";
    r.l3CacheSchema = "L3:0=f0";
    r.memBwSchema = "MB:0=50";
    r.schemata = {"L2:0=3", ""};
    r.enableMonitoring = true;
    // the monitoring group's files, as resctrl would make them on mkdir
    ::mkdir((f.root + "/shared/mon_groups/c1").c_str(), 0755);
    make_file(f.root + "/shared/mon_groups/c1/tasks", "");
    auto g = resctrl::apply(r, "c1", 4242, f.root);
    CHECK(g.path == f.root + "/shared");
    CHECK_FALSE(g.created);
    CHECK(g.mon == f.root + "/shared/mon_groups/c1");
    CHECK(f.read(g.path + "/schemata") == "L3:0=f0\nMB:0=50\nL2:0=3\n");
    CHECK(f.read(g.path + "/tasks") == "4242");
    CHECK(f.read(g.mon + "/tasks") == "4242");
    resctrl::join(g, 4343);
    CHECK(f.read(g.mon + "/tasks") == "4343");
    ::unlink((g.mon + "/tasks").c_str());  // resctrl's rmdir takes a group with its files
    resctrl::destroy(g);
    CHECK_FALSE(exists(g.mon));
    CHECK(exists(g.path));  // shared: never removed
    make_file(g.path + "/schemata", "");
    resctrl::update(f.root, g, "L3:0=ff", "");
    CHECK(f.read(g.path + "/schemata") == "L3:0=ff\n");
}

TEST_CASE("resctrl: a closID without schemata must exist; the root group is \"/\"") {
    FakeResctrl f;
    spec::IntelRdt r;
    r.closID = "missing";
    CHECK_THROWS_WITH(resctrl::apply(r, "c1", 1, f.root), Catch::Matchers::Contains("must be pre-created"));
    CHECK_FALSE(exists(f.root + "/missing"));
    make_file(f.root + "/tasks", "");
    r.closID = "/";
    auto g = resctrl::apply(r, "c1", 7, f.root);
    CHECK(g.path == f.root);
    CHECK(f.read(f.root + "/tasks") == "7");
    CHECK_THROWS_WITH(resctrl::update(f.root, resctrl::Group{}, "L3:0=1", ""),
                      "updating a non-existent Intel RDT configuration is not supported");
    ::rmdir((f.root + "/info/L3").c_str());
    CHECK_THROWS_WITH(resctrl::update(f.root, g, "L3:0=1", ""), "Intel RDT/CAT: l3 cache schema is not enabled");
}

TEST_CASE("resctrl: a group named after the container that cannot be filled is removed again") {
    FakeResctrl f;
    spec::IntelRdt r;
    r.schemata = {"L3:0=1"};
    // a plain directory has no schemata file: the write fails, with resctrl's status
    CHECK_THROWS_WITH(resctrl::apply(r, "c2", 1, f.root), Catch::Matchers::Contains("last_cmd_status: ok"));
    CHECK_FALSE(exists(f.root + "/c2"));
}
