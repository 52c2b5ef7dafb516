// The one child entry (src/util/child.*): whatever the child throws is
// reported and ends the child; nothing returns into the parent's frames.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>
#include <string>

#include "kiln/error.hpp"
#include "linux/sync.hpp"
#include "util/child.hpp"
#include "util/fd.hpp"

using kiln::UniqueFd;
namespace ksync = kiln::sync;
namespace child = kiln::child;

namespace {

struct Result {
    int status = 0;
    ksync::Message first;
};

// Forks fn under child::run with a sync socket; marks in `returned` (a
// pipe byte) if control ever came back out of child::run.
Result run_child(const std::function<void()> &fn) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    UniqueFd ours(sv[0]), theirs(sv[1]);
    pid_t pid = child::fork();
    if (pid == 0) {
        ours.reset();
        child::run(theirs.get(), fn);
        // Not reached: child::run is [[noreturn]]; say so loudly if it did.
        ksync::send(theirs.get(), ksync::Msg::Debug, "returned");
        ::_exit(99);
    }
    theirs.reset();
    Result r;
    r.first = ksync::receive(ours.get());
    REQUIRE(::waitpid(pid, &r.status, 0) == pid);
    return r;
}

}  // namespace

TEST_CASE("child::run: a throwing child reports Error with the text and exits 1", "[child]") {
    auto r = run_child([] { throw kiln::Error("mount /proc: permission denied"); });
    CHECK(r.first.msg == ksync::Msg::Error);
    CHECK(r.first.text == "mount /proc: permission denied");
    REQUIRE(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 1);
}

TEST_CASE("child::run: any exception, not only std::exception, is caught", "[child]") {
    auto r = run_child([] { throw 42; });
    CHECK(r.first.msg == ksync::Msg::Error);
    CHECK(r.first.text == "unknown error");
    REQUIRE(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 1);
    r = run_child([] { throw std::runtime_error(""); });
    CHECK(r.first.text == "failed");
}

TEST_CASE("child::run: a child whose fn returns exits 0 and reports nothing", "[child]") {
    auto r = run_child([] {});
    CHECK(r.first.msg == ksync::Msg::None);
    REQUIRE(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 0);
}

TEST_CASE("child::run: report_to moves later errors to another socket", "[child]") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    UniqueFd ours(sv[0]), theirs(sv[1]);
    auto r = run_child([&] {
        child::report_to(theirs.get(), false);
        throw kiln::Error("startContainer hook failed");
    });
    theirs.reset();
    CHECK(r.first.msg == ksync::Msg::None);  // not on the first socket
    auto m = ksync::receive(ours.get());
    CHECK(m.msg == ksync::Msg::Error);
    CHECK(m.text == "startContainer hook failed");
}

TEST_CASE("child::run without a sync socket says it on stderr", "[child]") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    UniqueFd r(p[0]), w(p[1]);
    pid_t pid = child::fork();
    if (pid == 0) {
        ::dup2(w.get(), 2);
        child::run(-1, [] { throw kiln::Error("no such hook"); });
    }
    w.reset();
    std::string err = kiln::read_fd(r.get());
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(err == "kiln: no such hook\n");
    CHECK(WEXITSTATUS(status) == 1);
}

TEST_CASE("in_child: the child's exception comes back as Error", "[child]") {
    CHECK_NOTHROW(kiln::in_child([] {}));
    CHECK_THROWS_WITH(kiln::in_child([] { throw kiln::Error("setns: invalid argument"); }), "setns: invalid argument");
    CHECK_THROWS_WITH(kiln::in_child([] { ::_exit(3); }), "child process failed");
}

TEST_CASE("check_single_threaded: refuses to fork beside another thread", "[child]") {
    CHECK_NOTHROW(child::check_single_threaded());
    // A second thread, parked on a pipe until we let it go.
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    UniqueFd r(p[0]), w(p[1]);
    std::thread t([&] {
        char c;
        (void)!::read(r.get(), &c, 1);
    });
    CHECK_THROWS_WITH(child::check_single_threaded(), Catch::Contains("threads"));
    CHECK_THROWS_WITH(child::fork(), Catch::Contains("threads"));
    REQUIRE(::write(w.get(), "x", 1) == 1);
    t.join();
    CHECK_NOTHROW(child::check_single_threaded());
}

TEST_CASE("check_single_threaded: a child of child::run is not checked again", "[child]") {
    // Inside run() the check passes at once, even beside another thread:
    // only the runtime's own process could have started threads.
    auto r = run_child([] {
        std::thread t([] {});
        child::check_single_threaded();
        t.join();
    });
    CHECK(r.first.msg == ksync::Msg::None);
    CHECK(WEXITSTATUS(r.status) == 0);
}
