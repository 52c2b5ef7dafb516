// checkpoint/restore pieces that need neither CRIU nor km: how a container
// is described to CRIU (criu_common.cpp) and km_cli's snapshot request.
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "cgroups/cgroup.hpp"
#include "container/criu_common.hpp"
#include "handlers/km_snapshot.hpp"
#include "kiln/error.hpp"
#include "util/fd.hpp"

using namespace kiln;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/kiln-unit-cr.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

spec::Mount bind(const std::string &dst, const std::string &src) { return {dst, "bind", src, {"rbind", "rw"}, {}, {}}; }

}  // namespace

TEST_CASE("km snapshot request has km_cli's layout", "[checkpoint][km]") {
    using handlers::km::MgmtRequest;
    CHECK(offsetof(MgmtRequest, length) == 4);
    CHECK(offsetof(MgmtRequest, snapshot) == 8);
    CHECK(offsetof(MgmtRequest, snapshot.description) == 8 + 256);
    CHECK(offsetof(MgmtRequest, snapshot.live) == 8 + 512);
    CHECK(offsetof(MgmtRequest, snapshot.snapshot_path) == 8 + 516);
    MgmtRequest r = handlers::km::snapshot_request("kiln c1", "desc", true, "/dev/.kiln-km/snapshot.kmsnap");
    CHECK(r.opcode == 0);
    CHECK(r.length == 1540);
    CHECK(std::string(r.snapshot.label) == "kiln c1");
    CHECK(std::string(r.snapshot.description) == "desc");
    CHECK(r.snapshot.live == 1);
    CHECK(std::string(r.snapshot.snapshot_path) == "/dev/.kiln-km/snapshot.kmsnap");
    CHECK(handlers::km::snapshot_request("l", "d", false, "/p").snapshot.live == 0);
    CHECK_THROWS_AS(handlers::km::snapshot_request("l", "d", false, "/" + std::string(1100, 'x')), Error);
    // A label longer than km's field is cut, NUL-terminated.
    MgmtRequest longer = handlers::km::snapshot_request(std::string(300, 'a'), "", false, "/p");
    CHECK(std::strlen(longer.snapshot.label) == 255);
}

TEST_CASE("KM snapshots need the container's own /dev", "[checkpoint][km]") {
    spec::Spec s;
    CHECK_FALSE(handlers::km::snapshots_possible(s));
    s.mounts.push_back({"/dev", "tmpfs", "tmpfs", {"mode=755"}, {}, {}});
    CHECK(handlers::km::snapshots_possible(s));
    s.mounts.push_back(bind("/dev", "/dev"));
    CHECK_FALSE(handlers::km::snapshots_possible(s));
}

TEST_CASE("CRIU options from runc's flags", "[checkpoint]") {
    CHECK(criu::empty_ns_mask({}) == CLONE_NEWNET);
    CHECK(criu::empty_ns_mask({"network"}) == CLONE_NEWNET);
    CHECK_THROWS_WITH(criu::empty_ns_mask({"pid"}), "namespace \"pid\" is not supported");
    CHECK(criu::cgroups_mode("") == -1);
    CHECK(criu::cgroups_mode("soft") == criu::kCgSoft);
    CHECK(criu::cgroups_mode("full") == criu::kCgFull);
    CHECK(criu::cgroups_mode("strict") == criu::kCgStrict);
    CHECK(criu::cgroups_mode("ignore") == criu::kCgIgnore);
    CHECK_THROWS_WITH(criu::cgroups_mode("hard"), "Invalid manage cgroups mode");
    CHECK(criu::ns_name("network") == "net");
    CHECK(criu::ns_name("mount") == "mnt");
    CHECK(criu::ns_name("pid") == "pid");
}

TEST_CASE("org.criu.config and kiln's default CRIU config", "[checkpoint]") {
    CHECK(criu::config_file({}) == "/etc/criu/kiln.conf");
    CHECK(criu::config_file({{"org.criu.config", ""}}).empty());
    CHECK(criu::config_file({{"org.criu.config", "/x.conf"}}) == "/x.conf");
    TempDir d;
    write_file_atomic(d.path + "/user.conf", "log-file=mine.log\n", 0644);
    std::string merged = criu::merged_config(d.path, {"lazy-pages", "port 1"}, d.path + "/user.conf");
    // Ours first, then the user's, which therefore still wins.
    CHECK(read_file(merged) == "lazy-pages\nport 1\nlog-file=mine.log\n\n");
    CHECK(read_file(criu::merged_config(d.path, {"lazy-pages"}, d.path + "/missing")) == "lazy-pages\n");
}

TEST_CASE("external mounts: binds resolved in the rootfs like securejoin", "[checkpoint]") {
    TempDir d;
    std::string rootfs = d.path + "/rootfs";
    REQUIRE(::mkdir(rootfs.c_str(), 0755) == 0);
    REQUIRE(::mkdir((rootfs + "/real").c_str(), 0755) == 0);
    REQUIRE(::mkdir((rootfs + "/real/conf").c_str(), 0755) == 0);
    REQUIRE(::symlink("/real/conf", (rootfs + "/conf").c_str()) == 0);
    spec::Spec s;
    s.mounts.push_back({"/proc", "proc", "proc", {}, {}, {}});
    s.mounts.push_back(bind("/conf", "."));
    s.mounts.push_back(bind("/data/", "/srv/data"));
    s.mounts.push_back({"/opt", "", "/srv/opt", {"bind", "ro"}, {}, {}});
    auto dump = criu::external_mounts(s, rootfs, "/bundle", {}, false);
    REQUIRE(dump.size() == 3);
    CHECK(dump[0].key == "/real/conf");  // through the symlink
    CHECK(dump[0].val == "/real/conf");
    CHECK(dump[1].key == "/data");  // not there: as written
    CHECK(dump[2].key == "/opt");   // "bind" in the options
    auto restore = criu::external_mounts(s, rootfs, "/bundle", {}, true);
    REQUIRE(restore.size() == 3);
    CHECK(restore[0].val == "/bundle/.");  // relative to the bundle
    CHECK(restore[1].val == "/srv/data");
    CHECK(restore[2].val == "/srv/opt");
}

TEST_CASE("device nodes CRIU may find as external binds", "[checkpoint]") {
    spec::Spec s;
    s.linux.emplace();
    s.linux->devices.push_back({"c", "/dev/kvm", 10, 232, {}, {}, {}});
    auto d = criu::device_paths(s);
    REQUIRE(d.size() == 7);
    CHECK(d.front() == "/dev/null");
    CHECK(d.back() == "/dev/kvm");
}

TEST_CASE("/proc/PID/cgroup as runc's ParseCgroupFile reads it", "[checkpoint][cgroups]") {
    auto v = cgroups::parse_proc_cgroup("12:cpu,cpuacct:/a\n1:name=systemd:/s\n0::/u\n");
    using P = std::pair<std::string, std::string>;
    REQUIRE(v.size() == 4);
    CHECK(v[0] == P{"cpu", "/a"});
    CHECK(v[1] == P{"cpuacct", "/a"});
    CHECK(v[2] == P{"name=systemd", "/s"});
    CHECK(v[3] == P{"", "/u"});
    CHECK(cgroups::parse_proc_cgroup("").empty());
}

TEST_CASE("cgroup options of a new container", "[checkpoint][cgroups]") {
    spec::Spec s;
    s.linux.emplace();
    s.linux->cgroupsPath = "/x/y";
    s.annotations["org.systemd.property.A"] = "b";
    auto o = cgroups::options_for(s, "c1", true, "true");
    CHECK(o.cgroups_path == "/x/y");
    CHECK(o.id == "c1");
    CHECK(o.systemd);
    CHECK(o.rootless);
    CHECK(o.annotations.at("org.systemd.property.A") == "b");
    CHECK_FALSE(cgroups::options_for(s, "c1", false, "false").rootless);
}
