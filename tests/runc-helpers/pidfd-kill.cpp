// pidfd-kill [--signal SIG] [--pid-file FILE] SOCKET: a consumer of the
// runtime's --pidfd-socket. Receives the container init's pidfd on SOCKET,
// then, on SIGTERM, sends SIG (default SIGKILL) through it. Stands in for
// runc 1.3's tests/cmd/pidfd-kill (Go >= 1.22) for tests/runc-integration.
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "linux/sync.hpp"

namespace {

int fatal(const std::string &msg) {
    std::fprintf(stderr, "fatal error: %s\n", msg.c_str());
    return 1;
}

int signal_number(std::string name) {
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    for (int s = 1; s < NSIG; s++)
        if (const char *abbrev = sigabbrev_np(s); abbrev && name == abbrev) return s;
    return 0;
}

// The one fd of the first message of the first connection to path.
int receive_fd(const std::string &path) {
    int ln = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (ln < 0 || path.size() >= sizeof addr.sun_path) return -1;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(ln, reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0 || ::listen(ln, 1) < 0) return -1;
    int conn = ::accept4(ln, nullptr, nullptr, SOCK_CLOEXEC);
    ::close(ln);
    ::unlink(path.c_str());
    if (conn < 0) return -1;
    // The runtime sends the pidfd with a name (one message, like a sync message).
    kiln::sync::Message m = kiln::sync::receive(conn);
    kiln::UniqueFd fd(m.fds.empty() ? -1 : m.fds[0].release());
    ::close(conn);
    if (!fd) errno = EBADMSG;
    return fd.release();
}

}  // namespace

int main(int argc, char **argv) {
    std::string sig_name = "SIGKILL", pid_file, socket_path;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a.rfind("--", 0) == 0) a = a.substr(1);  // urfave/cli takes -flag and --flag
        auto value = [&](const char *flag, std::string &out) {
            std::string f = std::string("-") + flag;
            if (a == f && i + 1 < argc) return out = argv[++i], true;
            if (a.rfind(f + "=", 0) == 0) return out = a.substr(f.size() + 1), true;
            return false;
        };
        if (value("signal", sig_name) || value("pid-file", pid_file)) continue;
        if (a[0] == '-') return fatal("flag provided but not defined: " + a);
        if (!socket_path.empty()) return fatal("required a single socket path");
        socket_path = argv[i];
    }
    if (socket_path.empty()) return fatal("required a single socket path");
    int sig = signal_number(sig_name);
    if (!sig) return fatal("unknown signal " + sig_name);
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &term, nullptr);  // taken with sigwait below
    if (!pid_file.empty()) {
        FILE *f = std::fopen(pid_file.c_str(), "w");
        if (!f) return fatal("open " + pid_file + ": " + std::strerror(errno));
        std::fprintf(f, "%d\n", static_cast<int>(::getpid()));
        std::fclose(f);
    }
    int rc = 0;
    int pidfd = receive_fd(socket_path);
    if (pidfd < 0) {
        rc = fatal("receive the pidfd on " + socket_path + ": " + std::strerror(errno));
    } else {
        int got;
        sigwait(&term, &got);
        if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0)
            rc = fatal(std::string("pidfd_send_signal: ") + std::strerror(errno));
    }
    if (!pid_file.empty()) ::unlink(pid_file.c_str());
    return rc;
}
