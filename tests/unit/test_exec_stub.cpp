// The sealed exec stub (src/linux/exec_stub.c, made by sealed_stub and run by
// exec_via_stub in src/linux/exec.cpp) in a forked child: exec at once, wait
// for "S" on a sync socket or from `start` on a listening socket, exec a
// file by fd, fail with 127, and end on SIGTERM while it waits.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "linux/process.hpp"
#include "scratch_dir.hpp"
#include "unix_socket.hpp"
#include "util/fd.hpp"

using kiln::UniqueFd;
namespace process = kiln::process;

namespace {

struct Run {
    pid_t pid = -1;
    UniqueFd out;  // the child's stdout and stderr
};

// Forks a child that execs sh -c script through the stub.
Run start(int stub, process::StubWait wait, const std::string &exe, int exe_fd, const std::string &script) {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    Run r;
    r.out.reset(p[0]);
    r.pid = ::fork();
    REQUIRE(r.pid >= 0);
    if (r.pid == 0) {
        ::dup2(p[1], 1);
        ::dup2(p[1], 2);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        std::vector<std::string> args{"sh", "-c", script}, env{"PATH=/usr/bin:/bin"};
        auto argv = process::c_strings(args), envp = process::c_strings(env);
        process::exec_via_stub(stub, wait, exe, exe_fd, argv.data(), envp.data());
        ::_exit(99);
    }
    ::close(p[1]);
    return r;
}

int status_of(Run &r) {
    int ws = 0;
    REQUIRE(::waitpid(r.pid, &ws, 0) == r.pid);
    // Killed by a signal (not the stub's exit 128+sig): 1000+sig.
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 1000 + WTERMSIG(ws);
}

std::string output(Run &r) {
    std::string s;
    char buf[256];
    ssize_t n;
    while ((n = ::read(r.out.get(), buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
    return s;
}

}  // namespace

TEST_CASE("exec stub: sealed_stub is a sealed, executable memfd", "[exec_stub]") {
    UniqueFd stub(process::sealed_stub());
    if (!stub) SUCCEED("no stub on this architecture");
    if (!stub) return;
    int seals = ::fcntl(stub.get(), F_GET_SEALS);
    CHECK((seals & (F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)) ==
          (F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK));
    CHECK(::write(stub.get(), "x", 1) < 0);
    char elf[4] = {};
    CHECK(::pread(stub.get(), elf, 4, 0) == 4);
    CHECK(std::memcmp(elf, "\x7f" "ELF", 4) == 0);
}

TEST_CASE("exec stub: runs the payload", "[exec_stub]") {
    UniqueFd stub(process::sealed_stub());
    SECTION("mode x: at once, argv and env passed on") {
        Run r = start(stub.get(), {}, "/bin/sh", -1, "echo \"$0 $PATH\"; exit 3");
        CHECK(status_of(r) == 3);
        CHECK(output(r) == "sh /usr/bin:/bin\n");
    }
    SECTION("by fd: the path is not looked at") {
        UniqueFd sh(::open("/bin/sh", O_PATH | O_CLOEXEC));
        REQUIRE(sh);
        Run r = start(stub.get(), {}, "/nonexistent", sh.get(), "exit 4");
        CHECK(status_of(r) == 4);
    }
    SECTION("an exec that fails") {
        Run r = start(stub.get(), {}, "/nonexistent", -1, "exit 0");
        int st = status_of(r);
        if (stub) {
            CHECK(st == 127);
            CHECK(output(r) == "kiln: exec of the container process failed\n");
        } else {
            CHECK(st == 99);  // exec_via_stub returned the errno
        }
    }
}

TEST_CASE("exec stub: mode s waits for S on the sync socket", "[exec_stub]") {
    UniqueFd stub(process::sealed_stub());
    if (!stub) return;
    kiln::test::SocketPair sp;
    process::StubWait w{'s', sp.b.get(), false};
    SECTION("S: the payload runs") {
        Run r = start(stub.get(), w, "/bin/sh", -1, "echo started");
        sp.b.reset();
        REQUIRE(::write(sp.a.get(), "S", 1) == 1);
        CHECK(status_of(r) == 0);
        CHECK(output(r) == "started\n");
    }
    SECTION("anything else: exit 1, no payload") {
        Run r = start(stub.get(), w, "/bin/sh", -1, "echo started");
        sp.b.reset();
        REQUIRE(::write(sp.a.get(), "X", 1) == 1);
        CHECK(status_of(r) == 1);
        CHECK(output(r).empty());
    }
    SECTION("SIGTERM while it waits ends it as 128+15") {
        Run r = start(stub.get(), w, "/bin/sh", -1, "echo started");
        sp.b.reset();
        // Until it waits on its socket (its handlers are installed by then):
        // it runs as kiln-exec and sleeps.
        std::string proc = "/proc/" + std::to_string(r.pid);
        for (int i = 0; i < 1000; i++) {
            std::string cmdline, stat;
            kiln::try_read_file(proc + "/cmdline", cmdline);
            kiln::try_read_file(proc + "/stat", stat);
            auto paren = stat.rfind(')');
            if (cmdline.rfind("kiln-exec", 0) == 0 && paren != std::string::npos && stat.compare(paren, 4, ") S ") == 0)
                break;
            ::usleep(1000);
        }
        REQUIRE(::kill(r.pid, SIGTERM) == 0);
        CHECK(status_of(r) == 128 + SIGTERM);
    }
}

TEST_CASE("exec stub: mode a accepts `start` on the listening socket", "[exec_stub]") {
    UniqueFd stub(process::sealed_stub());
    if (!stub) return;
    kiln::test::ScratchDir dir;
    std::string path = dir.path + "/start.sock";
    UniqueFd l = kiln::test::listen_at(path);
    sockaddr_un addr = kiln::test::unix_address(path);
    Run r = start(stub.get(), {'a', l.get(), false}, "/bin/sh", -1, "echo started");
    l.reset();
    auto connect = [&] {
        UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        REQUIRE(::connect(c.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
        return c;
    };
    // A connection that does not say S is dropped; the next one starts it.
    UniqueFd wrong = connect();
    REQUIRE(::write(wrong.get(), "X", 1) == 1);
    char c = 0;
    CHECK(::read(wrong.get(), &c, 1) == 0);
    UniqueFd right = connect();
    REQUIRE(::write(right.get(), "S", 1) == 1);
    REQUIRE(::read(right.get(), &c, 1) == 1);
    CHECK(c == 'A');
    // The connection is close-on-exec: EOF once the payload runs.
    CHECK(::read(right.get(), &c, 1) == 0);
    CHECK(status_of(r) == 0);
    CHECK(output(r) == "started\n");
}
