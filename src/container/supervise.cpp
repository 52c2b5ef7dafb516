// Foreground `run` and `exec`: forward signals to the process, relay its
// terminal when kiln owns it, and return its exit status.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "container/notify_socket.hpp"
#include "container/supervise.hpp"
#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "util/fd.hpp"

namespace kiln {
namespace {

// Our stdin in raw mode while the container's terminal is relayed; the old
// settings come back on every exit path.
class RawMode {
public:
    RawMode() {
        if (!::isatty(0) || ::tcgetattr(0, &saved_) < 0) return;
        struct termios raw = saved_;
        ::cfmakeraw(&raw);
        active_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
    }
    ~RawMode() {
        if (active_) ::tcsetattr(0, TCSANOW, &saved_);
    }

private:
    struct termios saved_{};
    bool active_ = false;
};

void copy_window_size(int master) {
    struct winsize ws;
    if (master >= 0 && ::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

// Moves what is readable from `from` to `to`; false at EOF or error.
bool pump(int from, int to) {
    char buf[8192];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
    write_all(to, std::string_view(buf, static_cast<size_t>(n)));
    return true;
}

// SIGCHLD: reap; returns true with *status when pid has exited.
bool reap(pid_t pid, int *status) {
    int ws;
    pid_t p;
    while ((p = ::waitpid(-1, &ws, WNOHANG)) > 0) {
        if (p != pid) continue;
        *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        return true;
    }
    return false;
}

// NOTIFY_SOCKET: the first READY= is passed on, then the socket is left
// alone (runc's foreground run); a host socket that fails only warns.
bool relay_ready(notify::Relay &relay) {
    try {
        return relay.receive(::getpid());
    } catch (const Error &e) {
        log::warn(e.what());
        return true;
    }
}

}  // namespace

int supervise(pid_t pid, int master, notify::Relay *relay) {
    sigset_t all;
    sigfillset(&all);
    UniqueFd sigs(::signalfd(-1, &all, SFD_CLOEXEC));
    if (!sigs) throw_errno("signalfd");
    RawMode raw_mode_guard;
    // run and exec gave the pty the caller's size before the payload ran;
    // this catches a restored pty and a resize since.
    if (master >= 0) copy_window_size(master);
    bool in_open = master >= 0, out_open = master >= 0;
    int status = 0;
    bool notifying = relay && *relay;
    for (;;) {
        struct pollfd fds[4] = {{sigs.get(), POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}, {out_open ? master : -1, POLLIN, 0},
                                {notifying ? relay->fd() : -1, POLLIN, 0}};
        if (::poll(fds, 4, -1) < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (fds[3].revents && relay_ready(*relay)) notifying = false;
        if (fds[2].revents) out_open = pump(master, 1);
        if (fds[1].revents) in_open = pump(0, master);
        if (!(fds[0].revents & POLLIN)) continue;
        struct signalfd_siginfo si;
        if (::read(sigs.get(), &si, sizeof si) != sizeof si) continue;
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
            if (!reap(pid, &status)) continue;
            // The last output may still sit in the pty.
            while (out_open && ::poll(fds + 2, 1, 0) == 1 && (out_open = pump(master, 1))) {
            }
            return status;
        }
        if (sig == SIGWINCH) copy_window_size(master);
        else if (sig != SIGURG) ::kill(pid, sig);
    }
}

}  // namespace kiln
