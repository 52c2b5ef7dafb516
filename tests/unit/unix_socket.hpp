// Unix sockets for the tests of fd passing: a connected pair, a listening
// socket at a path, and the inode an fd refers to (to tell that a received
// fd is the one sent).
#pragma once

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <string>

#include "util/fd.hpp"

namespace kiln::test {

struct SocketPair {
    UniqueFd a, b;
    explicit SocketPair(int type = SOCK_STREAM) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0);
        a.reset(sv[0]);
        b.reset(sv[1]);
    }
};

inline sockaddr_un unix_address(const std::string &path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

// A stream socket listening at path.
inline UniqueFd listen_at(const std::string &path) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(s);
    sockaddr_un addr = unix_address(path);
    REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(s.get(), 4) == 0);
    return s;
}

inline ino_t inode_of(int fd) {
    struct stat st;
    REQUIRE(::fstat(fd, &st) == 0);
    return st.st_ino;
}

}  // namespace kiln::test
