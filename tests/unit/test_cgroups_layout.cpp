// Layout detection takes the mount each path shows, as the kernel says.
#include <catch2/catch.hpp>

#include "cgroups/cgroup.hpp"

using namespace kiln::cgroups;

namespace {

const char kHybrid[] =
    "30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    "33 30 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
    "34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";

}  // namespace

TEST_CASE("layout: the kernel's visible mount decides, whatever the mountinfo order", "[cgroups]") {
    // A tmpfs over unified listed BEFORE the cgroup2 it covers (a mount
    // propagated beneath another): the order rule would take cgroup2.
    std::string mi = std::string("29 30 0:40 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n") + kHybrid;
    CHECK(parse_hierarchies(mi, "").size() == 3);  // order alone: fooled
    auto shows = [](const std::string &p) -> long long {
        if (p == "/sys/fs/cgroup/unified") return 29;  // the tmpfs
        if (p == "/sys/fs/cgroup/pids") return 33;
        if (p == "/sys/fs/cgroup/memory") return 34;
        return -1;
    };
    auto hs = parse_hierarchies(mi, "", shows);
    REQUIRE(hs.size() == 2);
    CHECK(hs[0].mount == "/sys/fs/cgroup/pids");
    CHECK(hs[1].mount == "/sys/fs/cgroup/memory");
    CHECK(layout_of(hs) == Layout::v1);
}

TEST_CASE("layout: a path that is not there is not a hierarchy; no answer falls back to the order", "[cgroups]") {
    // (asked only where a later mount at or above it, or a second mount at
    // its mount point, could cover it: here one moved beneath memory's)
    std::string beneath = std::string(kHybrid) + "41 30 0:41 / /sys/fs/cgroup/memory rw - tmpfs tmpfs rw\n";
    auto gone = [](const std::string &p) -> long long { return p == "/sys/fs/cgroup/memory" ? kNoPath : -1; };
    auto hs = parse_hierarchies(beneath, "", gone);
    REQUIRE(hs.size() == 2);
    CHECK(hs[0].v2);
    CHECK(hs[1].mount == "/sys/fs/cgroup/pids");
    // unknown everywhere: mountinfo order, where a later mount covers an earlier one
    std::string covered = std::string(kHybrid) + "40 31 0:40 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n";
    auto unknown = [](const std::string &) -> long long { return -1; };
    CHECK(parse_hierarchies(covered, "", unknown).size() == 2);
    CHECK(layout_of(parse_hierarchies(kHybrid, "", unknown)) == Layout::hybrid);
}

TEST_CASE("layout: the usual layouts ask the kernel nothing", "[cgroups]") {
    int asked = 0;
    auto count = [&](const std::string &) -> long long {
        asked++;
        return -1;
    };
    CHECK(parse_hierarchies(kHybrid, "", count).size() == 3);
    CHECK(asked == 0);
    // a tmpfs over unified, listed after it: unified is asked, the rest not
    std::string covered = std::string(kHybrid) + "40 31 0:40 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n";
    CHECK(parse_hierarchies(covered, "", count).size() == 2);
    CHECK(asked == 1);
}

TEST_CASE("layout: this host's visible mount ids", "[cgroups]") {
    CHECK(visible_mount_id("/") >= 0);
    CHECK(visible_mount_id("/nonexistent-kiln-path") == kNoPath);
    // Every detected hierarchy is the mount its path shows.
    for (auto &h : hierarchies()) CHECK(visible_mount_id(h.mount) >= 0);
}
