#include "linux/terminal.hpp"

#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kiln/error.hpp"
#include "linux/rootfs.hpp"
#include "linux/sync.hpp"
#include "util/fd.hpp"
#include "util/unsafe.hpp"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace kiln::terminal {

int connect_socket(const std::string &path, const char *what) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno(what);
    struct sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw Error(std::string(what) + " path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0)
        throw_errno("connect to " + std::string(what) + " " + path);
    return fd.release();
}

namespace {

// One message with room for one SCM_RIGHTS fd.
struct FdMessage {
    alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg{};
    explicit FdMessage(struct iovec *iov) {
        msg.msg_iov = iov;
        msg.msg_iovlen = 1;
        msg.msg_control = buf;
        msg.msg_controllen = sizeof buf;
    }
};

bool on_pseudo_fs(int fd) {
    struct statfs st;
    return ::fstatfs(fd, &st) < 0 || st.f_type == PROC_SUPER_MAGIC || st.f_type == SYSFS_MAGIC;
}

// Binds the pty onto the container's /dev/console with fds at both ends: the
// source is the pty itself (no /proc/self/fd or /dev/pts path the container
// could fake) and the target is opened without following symlinks and must
// be a plain file or device off procfs and sysfs, so the console can neither
// be a procfs file nor land on one (CVE-2025-52565).
void bind_console_to(int slave) {
    UniqueFd dev(::open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dev) throw_errno("open /dev in the container");
    UniqueFd made(::openat(dev.get(), "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!made && errno != EEXIST) throw_errno("create /dev/console");
    UniqueFd target(::openat(dev.get(), "console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!target || ::fstat(target.get(), &st) < 0) throw_errno("open /dev/console");
    if ((!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) || on_pseudo_fs(target.get()))
        throw Error("/dev/console in the container is not a plain file or device (a symlink?): not binding the console there");
    rootfs::bind_fd(slave, target.get(), "", "/dev/console");
}

}  // namespace

void send_fd(int sock, int fd) {
    // The data is the master's name, which receivers ignore.
    send_fd(sock, fd, "/dev/ptmx");
}

void send_fd(int sock, int fd, std::string_view data) {
    std::string text(data);
    struct iovec iov{text.data(), text.size()};
    FdMessage m(&iov);
    auto &msg = m.msg;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) throw_errno("send a file descriptor over a unix socket");
}

void send_pidfd(const std::string &socket_path, int pid) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) throw_errno("pidfd_open");
    UniqueFd sock(connect_socket(socket_path));
    send_fd(sock.get(), pidfd.get());
}

int receive_master(int sock) {
    // One message (SOCK_STREAM pair: one recvmsg, as the sync protocol reads).
    errno = 0;
    sync::Message m = sync::receive(sock);
    if (m.fds.empty()) {
        if (m.msg == sync::Msg::None && errno) throw_errno("receive the console");
        throw Error("the container sent no console");
    }
    return m.fds[0].release();
}

std::optional<spec::ConsoleSize> caller_size() {
    struct winsize ws{};
    if (::ioctl(0, TIOCGWINSZ, &ws) < 0) return std::nullopt;
    return spec::ConsoleSize{ws.ws_row, ws.ws_col};
}

void setup(int sock, const spec::Process &p, bool bind_console, const std::optional<spec::ConsoleSize> &size) {
    UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) throw_errno("open /dev/ptmx in the container");
    int unlock = 0;
    if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) throw_errno("unlock pty");
    // TIOCGPTPEER opens the peer of this very master: no /dev/pts path race.
    UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) throw_errno("open pty slave");
    const std::optional<spec::ConsoleSize> &want = size ? size : p.consoleSize;
    if (want && (want->height || want->width)) {
        struct winsize ws{};
        ws.ws_row = static_cast<unsigned short>(want->height);
        ws.ws_col = static_cast<unsigned short>(want->width);
        if (::ioctl(slave.get(), TIOCSWINSZ, &ws) < 0) throw_errno("set console size");
    }
    if (::fchown(slave.get(), p.user.uid, static_cast<gid_t>(-1)) < 0) throw_errno("chown pty slave");
    // /dev/console of the container is the init's terminal (runc does the same).
    if (bind_console && unsafe::off("cve-2025-52565")) {
        // Unsafe knob only: both ends by path, the source through the container's /proc.
        UniqueFd console(::open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
        std::string src = "/proc/self/fd/" + std::to_string(slave.get());
        if (console && ::mount(src.c_str(), "/dev/console", nullptr, MS_BIND, nullptr) < 0)
            throw_errno("bind mount /dev/console");
    } else if (bind_console) {
        bind_console_to(slave.get());
    }
    if (::setsid() < 0) throw_errno("setsid");
    if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0) throw_errno("set controlling terminal");
    for (int fd = 0; fd < 3; fd++)
        if (::dup2(slave.get(), fd) < 0) throw_errno("dup2 pty slave");
    send_fd(sock, master.get());
}

}  // namespace kiln::terminal
