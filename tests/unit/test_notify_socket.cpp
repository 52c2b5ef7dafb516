// src/container/notify_socket.cpp without root: the container's socket and
// its bind mount, and the READY= relay to a "host" datagram socket in a
// scratch directory (by path, by a path longer than sun_path, abstract).
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "container/notify_socket.hpp"
#include "kiln/error.hpp"
#include "scratch_dir.hpp"
#include "util/fd.hpp"

using kiln::UniqueFd;
namespace notify = kiln::notify;

namespace {

// addr for path; "@x" abstract. Returns its length.
socklen_t address(const std::string &path, sockaddr_un &addr) {
    addr = {};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (path[0] == '@') {
        addr.sun_path[0] = '\0';
        return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    }
    return sizeof addr;
}

// The host's NOTIFY_SOCKET: bound at path (or, for a long path, where
// bind_path is: a shorter name of the same place).
UniqueFd host_socket_at(const std::string &bind_path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    REQUIRE(s);
    sockaddr_un addr;
    socklen_t len = address(bind_path, addr);
    REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr *>(&addr), len) == 0);
    return s;
}

void send_to(const std::string &path, const std::string &msg) {
    UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(s);
    sockaddr_un addr;
    socklen_t len = address(path, addr);
    REQUIRE(::sendto(s.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr *>(&addr), len) ==
            static_cast<ssize_t>(msg.size()));
}

// Every datagram waiting on s.
std::vector<std::string> datagrams(int s) {
    std::vector<std::string> out;
    char buf[512];
    ssize_t n;
    while ((n = ::recv(s, buf, sizeof buf, MSG_DONTWAIT)) >= 0) out.emplace_back(buf, static_cast<size_t>(n));
    return out;
}

struct Setup {
    kiln::test::ScratchDir dir;
    std::string state, sock;
    Setup() : state(dir.path + "/state"), sock(dir.path + "/state/notify/notify.sock") {
        REQUIRE(::mkdir(state.c_str(), 0700) == 0);
        REQUIRE(::mkdir((state + "/notify").c_str(), 0755) == 0);
    }
};

}  // namespace

TEST_CASE("notify: host_socket is $NOTIFY_SOCKET", "[notify]") {
    const char *old = std::getenv("NOTIFY_SOCKET");
    std::string saved = old ? old : "";
    ::setenv("NOTIFY_SOCKET", "/run/x.sock", 1);
    CHECK(notify::host_socket() == "/run/x.sock");
    ::unsetenv("NOTIFY_SOCKET");
    CHECK(notify::host_socket().empty());
    if (old) ::setenv("NOTIFY_SOCKET", saved.c_str(), 1);
}

TEST_CASE("notify: setup_container adds the bind mount and the init's NOTIFY_SOCKET", "[notify]") {
    kiln::test::ScratchDir dir;
    kiln::spec::Spec spec;
    spec.process = kiln::spec::Process{};
    spec.process->env = {"A=1", "NOTIFY_SOCKET=/elsewhere", "B=2"};
    notify::setup_container(spec, dir.path);
    struct stat st;
    REQUIRE(::stat((dir.path + "/notify").c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    REQUIRE(spec.mounts.size() == 1);
    const auto &m = spec.mounts.back();
    CHECK(m.destination == "/run/notify");
    CHECK(m.type == "bind");
    CHECK(m.source == dir.path + "/notify");
    CHECK(m.options == std::vector<std::string>{"bind", "nosuid", "noexec", "nodev", "ro"});
    CHECK(spec.process->env == std::vector<std::string>{"A=1", "B=2", "NOTIFY_SOCKET=/run/notify/notify.sock"});
    SECTION("twice: the directory exists") {
        REQUIRE_THROWS_WITH(notify::setup_container(spec, dir.path), Catch::Contains("mkdir " + dir.path + "/notify"));
    }
}

TEST_CASE("notify: setup_container leaves a spec without process alone", "[notify]") {
    kiln::test::ScratchDir dir;
    kiln::spec::Spec spec;
    notify::setup_container(spec, dir.path);
    CHECK(spec.mounts.empty());
    CHECK(::access((dir.path + "/notify").c_str(), F_OK) != 0);
}

TEST_CASE("notify: Relay::listen", "[notify]") {
    Setup s;
    SECTION("no host socket: no relay") {
        CHECK_FALSE(notify::Relay::listen(s.state, ""));
        CHECK(::access(s.sock.c_str(), F_OK) != 0);
    }
    SECTION("a container made without NOTIFY_SOCKET: no relay") {
        REQUIRE(::rmdir((s.state + "/notify").c_str()) == 0);
        CHECK_FALSE(notify::Relay::listen(s.state, "/run/host.sock"));
    }
    SECTION("binds notify.sock, mode 0777, replacing a stale one") {
        REQUIRE(::close(::open(s.sock.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) == 0);
        notify::Relay r = notify::Relay::listen(s.state, "/run/host.sock");
        REQUIRE(r);
        CHECK(r.fd() >= 0);
        struct stat st;
        REQUIRE(::stat(s.sock.c_str(), &st) == 0);
        CHECK(S_ISSOCK(st.st_mode));
        CHECK((st.st_mode & 07777) == 0777);
    }
}

TEST_CASE("notify: receive passes READY= and MAINPID= on to the host", "[notify]") {
    Setup s;
    std::string host = s.dir.path + "/host.sock";
    UniqueFd h = host_socket_at(host);
    notify::Relay r = notify::Relay::listen(s.state, host);
    REQUIRE(r);
    SECTION("READY= among other lines") {
        send_to(s.sock, "STATUS=starting\nREADY=1\nX=y");
        CHECK(r.receive(4242));
        CHECK(datagrams(h.get()) == std::vector<std::string>{"READY=1\n", "MAINPID=4242\n"});
    }
    SECTION("no READY=: nothing passed on") {
        send_to(s.sock, "STATUS=starting\nXREADY=1\n");
        CHECK_FALSE(r.receive(4242));
        CHECK(datagrams(h.get()).empty());
    }
    SECTION("nothing to read") {
        CHECK_FALSE(r.receive(4242));
    }
}

TEST_CASE("notify: the host socket by a path longer than sun_path, or abstract", "[notify]") {
    Setup s;
    SECTION("long path") {
        std::string deep = s.dir.path + "/" + std::string(60, 'd');
        std::string deeper = deep + "/" + std::string(60, 'e');
        REQUIRE(::mkdir(deep.c_str(), 0700) == 0);
        REQUIRE(::mkdir(deeper.c_str(), 0700) == 0);
        std::string host = deeper + "/host.sock";
        REQUIRE(host.size() >= sizeof(sockaddr_un{}.sun_path));
        // Bind it from inside its directory, by a short relative name.
        UniqueFd cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
        REQUIRE(::chdir(deeper.c_str()) == 0);
        UniqueFd h = host_socket_at("host.sock");
        REQUIRE(::fchdir(cwd.get()) == 0);
        notify::Relay r = notify::Relay::listen(s.state, host);
        send_to(s.sock, "READY=1");
        CHECK(r.receive(7));
        CHECK(datagrams(h.get()) == std::vector<std::string>{"READY=1\n", "MAINPID=7\n"});
    }
    SECTION("abstract") {
        std::string host = "@kiln-unit-notify-" + std::to_string(::getpid());
        UniqueFd h = host_socket_at(host);
        notify::Relay r = notify::Relay::listen(s.state, host);
        send_to(s.sock, "READY=1\n");
        CHECK(r.receive(8));
        CHECK(datagrams(h.get()) == std::vector<std::string>{"READY=1\n", "MAINPID=8\n"});
    }
    SECTION("a host socket that is gone is an error") {
        notify::Relay r = notify::Relay::listen(s.state, s.dir.path + "/gone.sock");
        send_to(s.sock, "READY=1\n");
        REQUIRE_THROWS_WITH(r.receive(8), Catch::Contains("send to NOTIFY_SOCKET " + s.dir.path + "/gone.sock"));
    }
}

TEST_CASE("notify: wait returns at READY= or when the watched process is gone", "[notify]") {
    Setup s;
    std::string host = s.dir.path + "/host.sock";
    UniqueFd h = host_socket_at(host);
    notify::Relay r = notify::Relay::listen(s.state, host);
    SECTION("READY= sent just before it exits still counts") {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            UniqueFd c(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            std::memcpy(addr.sun_path, s.sock.c_str(), s.sock.size() + 1);
            bool ok = ::sendto(c.get(), "READY=1", 7, 0, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 7;
            ::_exit(ok ? 0 : 1);
        }
        // The zombie is not reaped until wait is done: pidfd_open still works.
        r.wait(pid);
        int ws;
        REQUIRE(::waitpid(pid, &ws, 0) == pid);
        CHECK(WEXITSTATUS(ws) == 0);
        CHECK(datagrams(h.get()) == std::vector<std::string>{"READY=1\n", "MAINPID=" + std::to_string(pid) + "\n"});
    }
    SECTION("exits without READY=") {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) ::_exit(0);
        r.wait(pid);
        int ws;
        REQUIRE(::waitpid(pid, &ws, 0) == pid);
        CHECK(datagrams(h.get()).empty());
    }
}
