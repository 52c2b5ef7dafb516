// The pure parts of create/run (src/container/lifecycle.cpp): the checks of
// config and flags, socket activation, and which namespaces clone() makes.
#include <catch2/catch.hpp>

#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "container/lifecycle.hpp"
#include "kiln/error.hpp"
#include "minimal_config.hpp"

using Strings = std::vector<std::string>;

namespace {

kiln::spec::Spec with_namespaces(std::vector<kiln::spec::Namespace> ns) {
    kiln::spec::Spec s;
    s.linux = kiln::spec::Linux{};
    s.linux->namespaces = std::move(ns);
    return s;
}

// LISTEN_FDS/LISTEN_PID for the time of a test.
struct ListenEnv {
    ListenEnv(const std::string &fds, const std::string &pid) {
        ::setenv("LISTEN_FDS", fds.c_str(), 1);
        ::setenv("LISTEN_PID", pid.c_str(), 1);
    }
    ~ListenEnv() {
        ::unsetenv("LISTEN_FDS");
        ::unsetenv("LISTEN_PID");
    }
};

}  // namespace

TEST_CASE("launch: check_create_options", "[launch]") {
    kiln::CreateOptions o;
    SECTION("a plain config passes") {
        kiln::check_create_options(minimal_config(false), o, true, true);
        kiln::check_create_options(minimal_config(false), o, false, false);
    }
    SECTION("no process: create may park the init, run may not") {
        auto s = minimal_config(false);
        s.process.reset();
        kiln::check_create_options(s, o, true, true);
        REQUIRE_THROWS_WITH(kiln::check_create_options(s, o, false, false), "process property must not be empty");
    }
    SECTION("no root.path") {
        auto s = minimal_config(false);
        s.root->path.clear();
        REQUIRE_THROWS_WITH(kiln::check_create_options(s, o, true, true), "config.json: root.path: must not be empty");
        s.root.reset();
        REQUIRE_THROWS_WITH(kiln::check_create_options(s, o, true, true), "config.json: root.path: must not be empty");
    }
    SECTION("a terminal when detached needs a console socket") {
        REQUIRE_THROWS_WITH(kiln::check_create_options(minimal_config(true), o, true, true),
                            "cannot allocate tty if kiln will detach without setting console socket");
        kiln::check_create_options(minimal_config(true), o, false, false);  // run in the foreground relays it
        o.console_socket = "/run/console.sock";
        kiln::check_create_options(minimal_config(true), o, true, true);
    }
    SECTION("a console socket without a terminal") {
        o.console_socket = "/run/console.sock";
        REQUIRE_THROWS_WITH(kiln::check_create_options(minimal_config(false), o, true, true),
                            "cannot use console socket if kiln will not detach or allocate tty");
    }
}

TEST_CASE("launch: socket_activation", "[launch]") {
    auto s = minimal_config(false);
    s.process->env = {"A=1", "LISTEN_FDS=9", "LISTEN_PID=77", "B=2"};
    const Strings untouched = s.process->env;
    SECTION("meant for us") {
        ListenEnv e("3", std::to_string(::getpid()));
        CHECK(kiln::socket_activation(s) == 3);
        CHECK(s.process->env == Strings{"A=1", "B=2", "LISTEN_FDS=3", "LISTEN_PID=1"});
    }
    SECTION("meant for another process") {
        ListenEnv e("3", std::to_string(::getpid() + 1));
        CHECK(kiln::socket_activation(s) == 0);
        CHECK(s.process->env == untouched);
    }
    SECTION("no fds") {
        ListenEnv e("0", std::to_string(::getpid()));
        CHECK(kiln::socket_activation(s) == 0);
        CHECK(s.process->env == untouched);
    }
    SECTION("unset") {
        ::unsetenv("LISTEN_FDS");
        ::unsetenv("LISTEN_PID");
        CHECK(kiln::socket_activation(s) == 0);
        CHECK(s.process->env == untouched);
    }
    SECTION("no process") {
        ListenEnv e("3", std::to_string(::getpid()));
        s.process.reset();
        CHECK(kiln::socket_activation(s) == 0);
    }
}

TEST_CASE("launch: namespaces_to_create", "[launch]") {
    bool cgroup_ns = true, time_ns = true;
    kiln::UniqueFd pid_ns;
    unsigned long unshare = 1;
    SECTION("no linux section") {
        kiln::spec::Spec s;
        CHECK(kiln::namespaces_to_create(s, cgroup_ns, time_ns, pid_ns, &unshare) == 0);
        CHECK_FALSE(cgroup_ns);
        CHECK_FALSE(time_ns);
        CHECK(unshare == 0);
    }
    SECTION("new ones: cgroup and time are left to the init") {
        auto s = with_namespaces({{"pid", ""}, {"network", ""}, {"mount", ""}, {"ipc", ""}, {"uts", ""},
                                  {"user", ""}, {"cgroup", ""}, {"time", ""}});
        CHECK(kiln::namespaces_to_create(s, cgroup_ns, time_ns, pid_ns, &unshare) ==
              (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWUSER));
        CHECK(cgroup_ns);
        CHECK(time_ns);
        CHECK(unshare == 0);
        CHECK_FALSE(pid_ns);
    }
    SECTION("a joined user namespace: the rest is unshared by the init in it") {
        auto s = with_namespaces({{"user", "/proc/self/ns/user"}, {"mount", ""}, {"network", "/proc/self/ns/net"},
                                  {"uts", ""}});
        CHECK(kiln::namespaces_to_create(s, cgroup_ns, time_ns, pid_ns, &unshare) == 0);
        CHECK(unshare == (CLONE_NEWNS | CLONE_NEWUTS));
        CHECK_FALSE(cgroup_ns);
        CHECK_FALSE(time_ns);
    }
    SECTION("namespaces with a path other than pid and time are joined later") {
        auto s = with_namespaces({{"network", "/proc/self/ns/net"}, {"ipc", "/proc/self/ns/ipc"}, {"mount", ""}});
        CHECK(kiln::namespaces_to_create(s, cgroup_ns, time_ns, pid_ns, &unshare) == CLONE_NEWNS);
        CHECK(unshare == 0);
    }
}

TEST_CASE("launch: init_seen_by_containers decides create/run's read-only re-exec", "[launch]") {
    // A new pid namespace: nothing of any container can see the init.
    auto own = with_namespaces({{"pid", ""}, {"mount", ""}, {"network", ""}});
    CHECK(kiln::has_own_pid_ns(own));
    CHECK_FALSE(kiln::init_seen_by_containers(own, "/"));
    // Another container's pid namespace, joined by path: its processes can.
    auto joined = with_namespaces({{"pid", "/proc/123/ns/pid"}, {"mount", ""}});
    CHECK_FALSE(kiln::has_own_pid_ns(joined));
    CHECK(kiln::init_seen_by_containers(joined, "/"));
    // No pid namespace: the host's, where other containers may live.
    CHECK(kiln::init_seen_by_containers(with_namespaces({{"mount", ""}}), "/"));
    CHECK(kiln::init_seen_by_containers(kiln::spec::Spec{}, "/"));
    // startContainer hooks run in the container's root, from the image's path.
    auto hooked = own;
    hooked.hooks = kiln::spec::Hooks{};
    hooked.hooks->poststart.push_back({"/usr/bin/true", {}, {}, {}});
    CHECK_FALSE(kiln::init_seen_by_containers(hooked, "/"));
    hooked.hooks->startContainer.push_back({"/hook", {}, {}, {}});
    CHECK(kiln::init_seen_by_containers(hooked, "/"));
    // A bind of the host's /proc (or of / recursively) shows every host process.
    auto bind = [&](const char *src, std::vector<std::string> opts, const char *type = "bind") {
        auto s = own;
        s.mounts.push_back({"/host", type, src, std::move(opts), {}, {}});
        return kiln::init_seen_by_containers(s, "/");
    };
    CHECK(bind("/proc", {"rbind"}));
    CHECK(bind("/proc/self/..", {"bind"}, "none"));  // resolved: /proc
    CHECK(bind("proc", {"bind"}));                   // relative to the bundle "/"
    CHECK(bind("/", {"rbind"}));
    CHECK_FALSE(bind("/", {"bind"}));        // not recursive: no /proc under it
    CHECK_FALSE(bind("/tmp", {"rbind"}));
    CHECK_FALSE(bind("/proc", {"ro"}, "proc"));  // a proc mount of its own pid namespace
}
