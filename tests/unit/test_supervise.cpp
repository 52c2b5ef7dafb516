// src/container/supervise.cpp without root: a forked child stands in for the
// container process; supervise forwards our signals to it, relays its pty
// and its READY=, and returns its exit status.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "container/notify_socket.hpp"
#include "container/supervise.hpp"
#include "scratch_dir.hpp"
#include "util/fd.hpp"

using kiln::UniqueFd;

namespace {

// All signals blocked from before the child exists (supervise's contract);
// the old mask comes back after. Whatever was left pending is consumed.
struct Blocked {
    sigset_t old;
    Blocked() {
        sigset_t all;
        sigfillset(&all);
        REQUIRE(::pthread_sigmask(SIG_SETMASK, &all, &old) == 0);
    }
    ~Blocked() {
        sigset_t pending;
        sigpending(&pending);
        for (int sig : {SIGWINCH, SIGURG, SIGCHLD})
            if (sigismember(&pending, sig)) {
                sigset_t one;
                sigemptyset(&one);
                sigaddset(&one, sig);
                int got;
                sigwait(&one, &got);
            }
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
};

pid_t child(void (*body)()) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // Not the test runner's fatal-signal handlers: the default actions.
        for (int sig = 1; sig < NSIG; sig++) ::signal(sig, SIG_DFL);
        body();
        ::_exit(100);
    }
    return pid;
}

void unblock_all() {
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
}

// stdin /dev/null and stdout `out` while it lasts.
struct Stdio {
    UniqueFd in, out;
    explicit Stdio(int to) : in(::fcntl(0, F_DUPFD_CLOEXEC, 3)), out(::fcntl(1, F_DUPFD_CLOEXEC, 3)) {
        REQUIRE(in);
        REQUIRE(out);
        UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        REQUIRE(::dup2(null.get(), 0) == 0);
        REQUIRE(::dup2(to, 1) == 1);
    }
    ~Stdio() {
        ::dup2(in.get(), 0);
        ::dup2(out.get(), 1);
    }
};

}  // namespace

TEST_CASE("supervise: returns the exit status", "[supervise]") {
    Blocked b;
    pid_t pid = child([] { ::_exit(7); });
    CHECK(kiln::supervise(pid) == 7);
    CHECK(::waitpid(pid, nullptr, WNOHANG) < 0);  // reaped
}

TEST_CASE("supervise: killed by a signal is 128+signal", "[supervise]") {
    Blocked b;
    pid_t pid = child([] {
        unblock_all();
        ::raise(SIGKILL);
    });
    CHECK(kiln::supervise(pid) == 128 + SIGKILL);
}

TEST_CASE("supervise: forwards our signals to the process", "[supervise]") {
    Blocked b;
    pid_t pid = child([] {
        unblock_all();
        for (;;) ::pause();
    });
    // Pending before supervise starts: it reads them from its signalfd.
    REQUIRE(::kill(::getpid(), SIGTERM) == 0);
    CHECK(kiln::supervise(pid) == 128 + SIGTERM);
}

TEST_CASE("supervise: SIGWINCH and SIGURG are not forwarded", "[supervise]") {
    Blocked b;
    // The child takes the first of these signals that reaches it; a
    // real-time signal is read after the standard ones, so it comes last.
    pid_t pid = child([] {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGWINCH);
        sigaddset(&set, SIGURG);
        sigaddset(&set, SIGRTMIN + 1);
        int sig = 0;
        sigwait(&set, &sig);
        ::_exit(sig == SIGRTMIN + 1 ? 0 : sig);
    });
    REQUIRE(::kill(::getpid(), SIGWINCH) == 0);
    REQUIRE(::kill(::getpid(), SIGURG) == 0);
    REQUIRE(::kill(::getpid(), SIGRTMIN + 1) == 0);
    CHECK(kiln::supervise(pid) == 0);
}

TEST_CASE("supervise: relays the pty master to stdout", "[supervise]") {
    // A pty whose slave the child writes to; our stdin is /dev/null and our
    // stdout a pipe for the time of the test.
    UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    REQUIRE(master);
    REQUIRE(::grantpt(master.get()) == 0);
    REQUIRE(::unlockpt(master.get()) == 0);
    std::string slave_name = ::ptsname(master.get());
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    UniqueFd r(p[0]), w(p[1]);
    int status;
    {
        Stdio stdio(w.get());
        Blocked b;
        static std::string name;
        name = slave_name;
        pid_t pid = child([] {
            int s = ::open(name.c_str(), O_RDWR | O_NOCTTY);
            if (s < 0) ::_exit(1);
            struct termios t;
            ::tcgetattr(s, &t);
            ::cfmakeraw(&t);
            ::tcsetattr(s, TCSANOW, &t);
            const char msg[] = "from the container";
            if (::write(s, msg, sizeof msg - 1) != sizeof msg - 1) ::_exit(2);
            // Time for the pty to move it to the master before SIGCHLD.
            ::usleep(20000);
            ::_exit(5);
        });
        status = kiln::supervise(pid, master.get());
    }
    w.reset();
    CHECK(status == 5);
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(r.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    CHECK(out == "from the container");
}

TEST_CASE("supervise: passes READY= on with MAINPID of the supervisor", "[supervise]") {
    kiln::test::ScratchDir dir;
    std::string state = dir.path, host = dir.path + "/host.sock";
    REQUIRE(::mkdir((state + "/notify").c_str(), 0755) == 0);
    UniqueFd h(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, host.c_str(), host.size() + 1);
    REQUIRE(::bind(h.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    kiln::notify::Relay relay = kiln::notify::Relay::listen(state, host);
    REQUIRE(relay);
    static std::string sock;
    sock = state + "/notify/notify.sock";
    int status;
    {
        Blocked b;
        pid_t pid = child([] {
            int c = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            sockaddr_un a{};
            a.sun_family = AF_UNIX;
            std::memcpy(a.sun_path, sock.c_str(), sock.size() + 1);
            if (::sendto(c, "READY=1", 7, 0, reinterpret_cast<sockaddr *>(&a), sizeof a) != 7) ::_exit(1);
            ::_exit(0);
        });
        status = kiln::supervise(pid, -1, &relay);
    }
    CHECK(status == 0);
    char buf[128];
    ssize_t n = ::recv(h.get(), buf, sizeof buf, MSG_DONTWAIT);
    REQUIRE(n > 0);
    CHECK(std::string(buf, static_cast<size_t>(n)) == "READY=1\n");
    n = ::recv(h.get(), buf, sizeof buf, MSG_DONTWAIT);
    REQUIRE(n > 0);
    CHECK(std::string(buf, static_cast<size_t>(n)) == "MAINPID=" + std::to_string(::getpid()) + "\n");
}
