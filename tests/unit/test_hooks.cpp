// Running runtime-spec hooks (src/linux/hooks.*) without root: argv, env,
// the state on stdin, cwd, failures, and the timeout that kills a hook.
#include <catch2/catch.hpp>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "kiln/error.hpp"
#include "kiln/spec.hpp"
#include "linux/hooks.hpp"
#include "util/fd.hpp"

namespace hooks = kiln::hooks;
using kiln::spec::Hook;

namespace {

Hook sh(const std::string &script, std::optional<int> timeout = std::nullopt) {
    Hook h;
    h.path = "/bin/sh";
    h.args = {"sh", "-c", script};
    h.env = {"PATH=/usr/bin:/bin", "HOOKVAR=set"};
    h.timeout = timeout;
    return h;
}

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/kiln-unit-hooks.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::string cmd = "rm -rf '" + path + "'";
        (void)!std::system(cmd.c_str());
    }
};

long now_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

TEST_CASE("hooks: the state on stdin, exactly env, cwd the given dir", "[hooks]") {
    TempDir d;
    hooks::run({sh("cat > state; echo \"$HOOKVAR|$(pwd)|${HOME-unset}\" > out")}, "prestart", "{\"id\":\"x\"}", d.path);
    CHECK(kiln::read_file(d.path + "/state") == "{\"id\":\"x\"}");
    CHECK(kiln::read_file(d.path + "/out") == "set|" + d.path + "|unset\n");
}

TEST_CASE("hooks: a failing hook is reported with its status and output", "[hooks]") {
    CHECK_THROWS_WITH(hooks::run({sh("true"), sh("echo oops; exit 3")}, "createRuntime", "{}", "/"),
                      "error running createRuntime hook #1: error running hook: exit status 3, output: oops\n");
}

TEST_CASE("hooks: the first failure stops the rest", "[hooks]") {
    TempDir d;
    CHECK_THROWS(hooks::run({sh("exit 1"), sh("touch ran")}, "prestart", "{}", d.path));
    CHECK(::access((d.path + "/ran").c_str(), F_OK) != 0);
}

TEST_CASE("hooks: a hook killed by a signal", "[hooks]") {
    CHECK_THROWS_WITH(hooks::run({sh("kill -SYS $$")}, "prestart", "{}", "/"),
                      "error running prestart hook #0: error running hook: signal: bad system call");
}

TEST_CASE("hooks: a missing executable fails in the hook's child, not here", "[hooks]") {
    Hook h;
    h.path = "/no/such/hook";
    CHECK_THROWS_WITH(hooks::run({h}, "poststart", "{}", "/"),
                      Catch::Contains("exit status 127, output: exec /no/such/hook: No such file or directory"));
}

TEST_CASE("hooks: one that outlives its timeout is killed and reported", "[hooks]") {
    TempDir d;
    long start = now_ms();
    // Its stdout stays open (sleep holds it): the poll on the output times out.
    CHECK_THROWS_WITH(hooks::run({sh("echo $$ > pid; exec sleep 30", 1)}, "createContainer", "{}", d.path),
                      "error running createContainer hook #0: error running hook: timeout after 1s");
    long took = now_ms() - start;
    CHECK(took >= 900);
    CHECK(took < 5000);
    pid_t pid = std::atoi(kiln::read_file(d.path + "/pid").c_str());
    REQUIRE(pid > 0);
    CHECK(::kill(pid, 0) < 0);  // killed and reaped
}

TEST_CASE("hooks: one that closes its output but keeps running is killed at the timeout", "[hooks]") {
    long start = now_ms();
    CHECK_THROWS_WITH(hooks::run({sh("exec >/dev/null 2>&1; sleep 30", 1)}, "prestart", "{}", "/"),
                      Catch::Contains("timeout after 1s"));
    CHECK(now_ms() - start < 5000);
}

TEST_CASE("hooks: run_warn_only runs them all and throws nothing", "[hooks]") {
    TempDir d;
    CHECK_NOTHROW(hooks::run_warn_only({sh("exit 2"), sh("touch ran")}, "poststop", "{}", d.path));
    CHECK(::access((d.path + "/ran").c_str(), F_OK) == 0);
}

TEST_CASE("hooks: a hook that does not read its stdin does not kill us", "[hooks]") {
    std::string big(1 << 20, 'x');  // more than a pipe holds
    CHECK_NOTHROW(hooks::run({sh("exit 0")}, "prestart", big, "/"));
    // SIGPIPE's disposition is as it was.
    struct sigaction sa{};
    ::sigaction(SIGPIPE, nullptr, &sa);
    CHECK(sa.sa_handler == SIG_DFL);
}
