// src/linux/terminal.cpp without root: the console socket (connect, fd
// passing both ways) and setup() in a forked child, with a real pty from
// /dev/ptmx (unprivileged), its window size and controlling terminal.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "kiln/error.hpp"
#include "linux/terminal.hpp"
#include "scratch_dir.hpp"
#include "unix_socket.hpp"
#include "util/fd.hpp"

using kiln::UniqueFd;
using kiln::test::inode_of;
using kiln::test::listen_at;
using StreamPair = kiln::test::SocketPair;
namespace terminal = kiln::terminal;

namespace {

std::string read_some(int fd) {
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

TEST_CASE("terminal: send_fd passes an fd that receive_master takes", "[terminal]") {
    StreamPair sp;
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    UniqueFd r(p[0]), w(p[1]);
    terminal::send_fd(sp.a.get(), w.get());
    UniqueFd got(terminal::receive_master(sp.b.get()));
    REQUIRE(got);
    CHECK(got.get() != w.get());
    CHECK(inode_of(got.get()) == inode_of(w.get()));
    CHECK(::fcntl(got.get(), F_GETFD) & FD_CLOEXEC);
    REQUIRE(::write(got.get(), "x", 1) == 1);
    CHECK(read_some(r.get()) == "x");
}

TEST_CASE("terminal: receive_master without an fd is an error", "[terminal]") {
    StreamPair sp;
    SECTION("a message without fd") {
        REQUIRE(::write(sp.a.get(), "G", 1) == 1);
        REQUIRE_THROWS_WITH(terminal::receive_master(sp.b.get()), "the container sent no console");
    }
    SECTION("the peer is gone") {
        sp.a.reset();
        REQUIRE_THROWS_AS(terminal::receive_master(sp.b.get()), kiln::Error);
    }
}

TEST_CASE("terminal: connect_socket", "[terminal]") {
    kiln::test::ScratchDir dir;
    SECTION("a listening socket") {
        std::string path = dir.path + "/console.sock";
        UniqueFd l = listen_at(path);
        UniqueFd c(terminal::connect_socket(path));
        REQUIRE(c);
        UniqueFd acc(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
        REQUIRE(acc);
        REQUIRE(::write(c.get(), "hi", 2) == 2);
        CHECK(read_some(acc.get()) == "hi");
    }
    SECTION("nothing listens: the error names what and where") {
        std::string path = dir.path + "/none.sock";
        REQUIRE_THROWS_WITH(terminal::connect_socket(path, "pidfd socket"),
                            Catch::Contains("connect to pidfd socket " + path));
    }
    SECTION("a path longer than sun_path") {
        std::string path = dir.path + "/" + std::string(120, 'x');
        REQUIRE_THROWS_WITH(terminal::connect_socket(path), Catch::Contains("console socket path too long"));
    }
}

TEST_CASE("terminal: send_pidfd sends a pidfd of the pid", "[terminal]") {
    kiln::test::ScratchDir dir;
    std::string path = dir.path + "/pidfd.sock";
    UniqueFd l = listen_at(path);
    terminal::send_pidfd(path, ::getpid());
    UniqueFd acc(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(acc);
    UniqueFd got(terminal::receive_master(acc.get()));
    REQUIRE(got);
    std::string link(64, '\0');
    ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(got.get())).c_str(), link.data(), link.size());
    REQUIRE(n > 0);
    link.resize(static_cast<size_t>(n));
    CHECK(link == "anon_inode:[pidfd]");
    // The pidfd's fdinfo names the pid.
    std::string info;
    REQUIRE(kiln::try_read_file("/proc/self/fdinfo/" + std::to_string(got.get()), info));
    CHECK_THAT(info, Catch::Contains("Pid:\t" + std::to_string(::getpid()) + "\n"));
}

TEST_CASE("terminal: setup makes a pty the process's terminal and sends its master", "[terminal]") {
    StreamPair sp;
    kiln::spec::Process p;
    p.user.uid = ::getuid();
    p.consoleSize = kiln::spec::ConsoleSize{};
    p.consoleSize->height = 33;
    p.consoleSize->width = 101;
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        sp.b.reset();
        try {
            terminal::setup(sp.a.get(), p, false);
        } catch (...) {
            ::_exit(2);
        }
        struct winsize ws{};
        if (::ioctl(0, TIOCGWINSZ, &ws) < 0) ::_exit(3);
        // Our controlling terminal is the pty on stdin, in a new session.
        if (::tcgetsid(0) != ::getpid()) ::_exit(4);
        std::string line = std::to_string(ws.ws_row) + "x" + std::to_string(ws.ws_col) + " " +
                           (::isatty(1) && ::isatty(2) ? "tty" : "notty") + "\n";
        if (::write(1, line.data(), line.size()) < 0) ::_exit(5);
        // Until the runtime has read it: the master must outlive our output.
        char c;
        if (::read(sp.a.get(), &c, 1) < 0) ::_exit(6);
        ::_exit(0);
    }
    sp.a.reset();
    UniqueFd master(terminal::receive_master(sp.b.get()));
    REQUIRE(master);
    std::string out;
    while (out.find('\n') == std::string::npos) {
        std::string s = read_some(master.get());
        if (s.empty()) break;
        out += s;
    }
    REQUIRE(::write(sp.b.get(), "x", 1) == 1);
    int ws = 0;
    REQUIRE(::waitpid(pid, &ws, 0) == pid);
    CHECK(WIFEXITED(ws));
    CHECK(WEXITSTATUS(ws) == 0);
    // The pty turns \n into \r\n.
    CHECK(out == "33x101 tty\r\n");
}
