#include "container/notify_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "kiln/error.hpp"

namespace kiln::notify {
namespace {

constexpr const char *kSocketName = "notify.sock";

std::string socket_dir(const std::string &state_dir) { return state_dir + "/notify"; }

// A socket address for path: "@name" is abstract; a path too long for
// sun_path goes through an O_PATH fd of its directory (held in dir).
socklen_t address_of(const std::string &path, sockaddr_un &addr, UniqueFd &dir) {
    addr = {};
    addr.sun_family = AF_UNIX;
    std::string p = path;
    if (p.size() >= sizeof addr.sun_path && p[0] != '@') {
        auto slash = p.find_last_of('/');
        dir.reset(::open(slash == 0 ? "/" : p.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!dir) throw_errno("NOTIFY_SOCKET " + path);
        p = "/proc/self/fd/" + std::to_string(dir.get()) + "/" + p.substr(slash + 1);
    }
    if (p.size() >= sizeof addr.sun_path) throw Error("NOTIFY_SOCKET " + path + ": path too long");
    std::memcpy(addr.sun_path, p.data(), p.size());
    if (p[0] == '@') {
        addr.sun_path[0] = '\0';
        return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + p.size());
    }
    return static_cast<socklen_t>(sizeof addr);
}

}  // namespace

std::string host_socket() {
    const char *s = std::getenv("NOTIFY_SOCKET");
    return s ? s : "";
}

void setup_container(spec::Spec &spec, const std::string &state_dir) {
    if (!spec.process) return;
    std::string dir = socket_dir(state_dir);
    if (::mkdir(dir.c_str(), 0755) < 0) throw_errno("mkdir " + dir);
    // The init mounts from the bundle: the source must not be relative.
    char real[PATH_MAX];
    if (!::realpath(dir.c_str(), real)) throw_errno("realpath " + dir);
    spec.mounts.push_back({kContainerDir, "bind", real, {"bind", "nosuid", "noexec", "nodev", "ro"}, {}, {}});
    auto &env = spec.process->env;
    std::erase_if(env, [](const std::string &e) { return e.rfind("NOTIFY_SOCKET=", 0) == 0; });
    env.push_back(std::string("NOTIFY_SOCKET=") + kContainerDir + "/" + kSocketName);
}

Relay Relay::listen(const std::string &state_dir, std::string host) {
    Relay r;
    if (host.empty()) return r;
    UniqueFd dir(::open(socket_dir(state_dir).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
        if (errno == ENOENT) return r;  // created without NOTIFY_SOCKET
        throw_errno("open " + socket_dir(state_dir));
    }
    UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) throw_errno("socket");
    // By the directory's fd: a state dir path may be longer than sun_path.
    std::string path = "/proc/self/fd/" + std::to_string(dir.get()) + "/" + kSocketName;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ::unlinkat(dir.get(), kSocketName, 0);
    if (::bind(s.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0)
        throw_errno("bind " + socket_dir(state_dir) + "/" + kSocketName);
    // Any user of the container may notify (runc: 0777).
    if (::fchmodat(dir.get(), kSocketName, 0777, 0) < 0) throw_errno("chmod " + socket_dir(state_dir) + "/" + kSocketName);
    r.sock_ = std::move(s);
    r.host_ = std::move(host);
    return r;
}

void Relay::send(const std::string &msg) const {
    UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    sockaddr_un addr;
    UniqueFd dir;
    socklen_t len = address_of(host_, addr, dir);
    if (::sendto(s.get(), msg.data(), msg.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr *>(&addr), len) < 0)
        throw_errno("send to NOTIFY_SOCKET " + host_);
}

bool Relay::receive(pid_t main_pid) {
    char buf[4096];
    ssize_t n = ::recv(sock_.get(), buf, sizeof buf, 0);
    if (n <= 0) return false;
    std::string_view got(buf, static_cast<size_t>(n));
    for (size_t pos = 0; pos <= got.size();) {
        size_t end = got.find('\n', pos);
        if (end == std::string_view::npos) end = got.size();
        std::string_view line = got.substr(pos, end - pos);
        pos = end + 1;
        if (line.substr(0, 6) != "READY=") continue;
        // Two datagrams, as runc sends them.
        send(std::string(line) + "\n");
        send("MAINPID=" + std::to_string(main_pid) + "\n");
        return true;
    }
    return false;
}

void Relay::wait(pid_t watched) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, watched, 0)));
    if (!pidfd) return;  // gone already
    for (;;) {
        struct pollfd fds[2] = {{sock_.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll NOTIFY_SOCKET");
        }
        if ((fds[0].revents & POLLIN) && receive(watched)) return;
        if (!fds[1].revents) continue;
        // Gone: what it sent before it went still counts.
        for (int i = 0; i < 64 && ::poll(fds, 1, 0) == 1; i++)
            if (receive(watched)) return;
        return;
    }
}

}  // namespace kiln::notify
