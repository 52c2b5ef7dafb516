// src/container/seccomp_agent.cpp without root: the listener fd and runc's
// ContainerProcessState JSON reach an agent listening in a scratch directory.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "container/seccomp_agent.hpp"
#include "kiln/error.hpp"
#include "scratch_dir.hpp"
#include "unix_socket.hpp"
#include "util/fd.hpp"

using kiln::UniqueFd;
using kiln::test::inode_of;

namespace {

// One message: its bytes and the fd it carries (-1 if none).
std::string receive(int sock, UniqueFd &fd) {
    char data[4096];
    struct iovec iov{data, sizeof data};
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    REQUIRE(n >= 0);
    for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int got;
        std::memcpy(&got, CMSG_DATA(c), sizeof got);
        fd.reset(got);
    }
    return std::string(data, static_cast<size_t>(n));
}

}  // namespace

TEST_CASE("seccomp agent: hand_over sends the fd and the process state", "[seccomp_agent]") {
    kiln::test::ScratchDir dir;
    kiln::spec::Seccomp s;
    s.listenerPath = dir.path + "/agent.sock";
    s.listenerMetadata = "meta \"quoted\"";
    UniqueFd agent = kiln::test::listen_at(s.listenerPath);
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    UniqueFd r(p[0]), w(p[1]);
    kiln::seccomp_agent::hand_over(s, w.get(), 4321, R"({"ociVersion":"1.3.0","id":"c1","status":"creating"})");
    UniqueFd conn(::accept4(agent.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(conn);
    UniqueFd got;
    std::string text = receive(conn.get(), got);
    CHECK(text == std::string(R"({"ociVersion":")") + kiln::spec::kSpecVersion +
                      R"(","fds":["seccompFd"],"pid":4321,"metadata":"meta \"quoted\"",)"
                      R"("state":{"ociVersion":"1.3.0","id":"c1","status":"creating"}})");
    REQUIRE(got);
    CHECK(inode_of(got.get()) == inode_of(w.get()));
    // The connection is closed after the one message: the agent sees EOF.
    char c;
    CHECK(::read(conn.get(), &c, 1) == 0);
}

TEST_CASE("seccomp agent: errors name the field", "[seccomp_agent]") {
    kiln::spec::Seccomp s;
    SECTION("no listenerPath") {
        REQUIRE_THROWS_WITH(kiln::seccomp_agent::hand_over(s, 0, 1, "{}"),
                            "seccomp: SCMP_ACT_NOTIFY without linux.seccomp.listenerPath");
    }
    SECTION("nothing listens there") {
        kiln::test::ScratchDir dir;
        s.listenerPath = dir.path + "/none.sock";
        REQUIRE_THROWS_WITH(kiln::seccomp_agent::hand_over(s, 0, 1, "{}"),
                            Catch::StartsWith("failed to connect with seccomp agent specified in the seccomp profile "
                                              "(linux.seccomp.listenerPath): connect to seccomp agent " +
                                              s.listenerPath));
    }
}
