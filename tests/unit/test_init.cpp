// src/linux/init.cpp without root: ns::join, the setns the init (and
// create/exec) use, fails naming the path; joining our own namespace by
// another type's flag is refused before any permission check.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "kiln/error.hpp"
#include "linux/namespaces.hpp"
#include "scratch_dir.hpp"

TEST_CASE("init: ns::join errors name the path", "[init]") {
    SECTION("missing") {
        kiln::test::ScratchDir dir;
        std::string path = dir.path + "/none";
        REQUIRE_THROWS_WITH(kiln::ns::join(path, CLONE_NEWNET), Catch::StartsWith("open namespace " + path));
    }
    SECTION("not a namespace file") {
        REQUIRE_THROWS_WITH(kiln::ns::join("/dev/null", CLONE_NEWNET), Catch::StartsWith("setns /dev/null"));
    }
    SECTION("a namespace of another type than the flag") {
        REQUIRE_THROWS_WITH(kiln::ns::join("/proc/self/ns/net", CLONE_NEWUTS),
                            Catch::StartsWith("setns /proc/self/ns/net"));
    }
}

TEST_CASE("init: ns::join of our own uts namespace", "[init]") {
    struct stat before, after;
    REQUIRE(::stat("/proc/self/ns/uts", &before) == 0);
    if (::geteuid() == 0) {
        // Root may: nothing changes (we are in it already).
        kiln::ns::join("/proc/self/ns/uts", CLONE_NEWUTS);
    } else {
        REQUIRE_THROWS_WITH(kiln::ns::join("/proc/self/ns/uts", CLONE_NEWUTS), Catch::StartsWith("setns /proc/self/ns/uts"));
    }
    REQUIRE(::stat("/proc/self/ns/uts", &after) == 0);
    CHECK(before.st_ino == after.st_ino);
}
