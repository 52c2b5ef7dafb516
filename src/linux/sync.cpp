#include "linux/sync.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace kiln::sync {
namespace {

bool send_msg(int sock, Msg msg, std::string_view text, const int *fds, size_t nfds) noexcept {
    char tag = static_cast<char>(msg);
    struct iovec iov[2] = {{&tag, 1}, {const_cast<char *>(text.data()), text.size()}};
    alignas(struct cmsghdr) char control[CMSG_SPACE(kMaxFds * sizeof(int))] = {};
    struct msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = text.empty() ? 1 : 2;
    if (nfds > kMaxFds) {
        errno = EINVAL;
        return false;
    }
    if (nfds) {
        m.msg_control = control;
        m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    ssize_t n;
    do n = ::sendmsg(sock, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(1 + text.size());
}

}  // namespace

bool send(int sock, Msg msg, std::string_view text, std::initializer_list<int> fds) noexcept {
    return send_msg(sock, msg, text, fds.begin(), fds.size());
}

bool send_fds(int sock, Msg msg, const std::vector<int> &fds) noexcept {
    return send_msg(sock, msg, {}, fds.data(), fds.size());
}

Message receive(int sock) {
    Message out;
    // On the stack: a fresh child's heap would grow (brk) for a buffer this size.
    char buf[kMaxText + 1];
    struct iovec iov{buf, sizeof buf};
    alignas(struct cmsghdr) char control[CMSG_SPACE(kMaxFds * sizeof(int))];
    struct msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    ssize_t n;
    do n = ::recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&m) : nullptr; c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            out.fds.emplace_back(fd);
        }
    }
    if (n < 1) {
        out.fds.clear();
        return out;
    }
    out.msg = static_cast<Msg>(buf[0]);
    out.text.assign(buf + 1, static_cast<size_t>(n - 1));
    return out;
}

Msg wait(int sock) {
    char tag = 0;
    ssize_t n;
    // A longer message (Go with a text) is cut to its tag: SOCK_SEQPACKET
    // drops the rest of the datagram.
    do n = ::recv(sock, &tag, 1, 0);
    while (n < 0 && errno == EINTR);
    return n == 1 ? static_cast<Msg>(tag) : Msg::None;
}

}  // namespace kiln::sync
