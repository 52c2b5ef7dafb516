// The pure parts of `restore` (src/container/restore.cpp): the option checks
// and which mount points lie inside a tmpfs (CRIU restores those itself).
#include <catch2/catch.hpp>

#include <string>

#include "container/restore.hpp"
#include "kiln/error.hpp"
#include "minimal_config.hpp"

TEST_CASE("restore: under_tmpfs", "[restore]") {
    kiln::spec::Spec s;
    s.mounts.push_back({"/run", "tmpfs", "tmpfs", {}, {}, {}});
    s.mounts.push_back({"/data", "bind", "/srv", {"bind"}, {}, {}});
    CHECK(kiln::under_tmpfs(s, "/run/x"));
    CHECK(kiln::under_tmpfs(s, "/run/a/b"));
    CHECK_FALSE(kiln::under_tmpfs(s, "/run"));       // the tmpfs itself
    CHECK_FALSE(kiln::under_tmpfs(s, "/running"));   // a name that only starts alike
    CHECK_FALSE(kiln::under_tmpfs(s, "/data/x"));    // not a tmpfs
    CHECK_FALSE(kiln::under_tmpfs(kiln::spec::Spec{}, "/run/x"));
}

TEST_CASE("restore: check_options", "[restore]") {
    kiln::RestoreOptions o;
    kiln::check_options(minimal_config(false), o);
    SECTION("no process") {
        auto s = minimal_config(false);
        s.process.reset();
        REQUIRE_THROWS_WITH(kiln::check_options(s, o), "process property must not be empty");
    }
    SECTION("no root.path") {
        auto s = minimal_config(false);
        s.root->path.clear();
        REQUIRE_THROWS_WITH(kiln::check_options(s, o), "config.json: root.path: must not be empty");
    }
    SECTION("a detached terminal without console socket") {
        o.detach = true;
        REQUIRE_THROWS_WITH(kiln::check_options(minimal_config(true), o),
                            "cannot allocate tty if kiln will detach without setting console socket");
        o.console_socket = "/run/c.sock";
        kiln::check_options(minimal_config(true), o);
    }
    SECTION("a console socket without a terminal") {
        o.console_socket = "/run/c.sock";
        REQUIRE_THROWS_WITH(kiln::check_options(minimal_config(false), o),
                            "cannot use console socket if kiln will not detach or allocate tty");
    }
}
