// The sync protocol (src/linux/sync.*) over a SOCK_SEQPACKET socketpair, as
// the runtime and its children use it: tags, texts, fds, message boundaries.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "linux/sync.hpp"
#include "util/fd.hpp"

using kiln::UniqueFd;
namespace ksync = kiln::sync;

namespace {

struct Pair {
    UniqueFd a, b;
    Pair() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
        a.reset(sv[0]);
        b.reset(sv[1]);
    }
};

ino_t inode_of(int fd) {
    struct stat st;
    REQUIRE(::fstat(fd, &st) == 0);
    return st.st_ino;
}

}  // namespace

TEST_CASE("sync: a tag alone and a tag with text keep their boundaries", "[sync]") {
    Pair p;
    REQUIRE(ksync::send(p.a.get(), ksync::Msg::Go, "4242"));
    REQUIRE(ksync::send(p.a.get(), ksync::Msg::Ready));
    REQUIRE(ksync::send(p.a.get(), ksync::Msg::Error, "mount /proc: permission denied"));
    auto m = ksync::receive(p.b.get());
    CHECK(m.msg == ksync::Msg::Go);
    CHECK(m.text == "4242");
    m = ksync::receive(p.b.get());
    CHECK(m.msg == ksync::Msg::Ready);
    CHECK(m.text.empty());
    m = ksync::receive(p.b.get());
    CHECK(m.msg == ksync::Msg::Error);
    CHECK(m.text == "mount /proc: permission denied");
}

TEST_CASE("sync: wait takes one message's tag and drops its text", "[sync]") {
    Pair p;
    REQUIRE(ksync::send(p.a.get(), ksync::Msg::Go, "17"));
    REQUIRE(ksync::send(p.a.get(), ksync::Msg::Start));
    CHECK(ksync::wait(p.b.get()) == ksync::Msg::Go);
    CHECK(ksync::wait(p.b.get()) == ksync::Msg::Start);
}

TEST_CASE("sync: the stub's start byte is 'S'", "[sync]") {
    // exec_stub.c compares the byte it reads with 'S'.
    CHECK(static_cast<char>(ksync::Msg::Start) == 'S');
}

TEST_CASE("sync: fds travel with the message, close-on-exec", "[sync]") {
    Pair p;
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    UniqueFd r(pipefd[0]), w(pipefd[1]);
    REQUIRE(ksync::send(p.a.get(), ksync::Msg::SeccompFd, {}, {r.get()}));
    REQUIRE(ksync::send_fds(p.a.get(), ksync::Msg::Labels, {r.get(), w.get()}));
    auto m = ksync::receive(p.b.get());
    CHECK(m.msg == ksync::Msg::SeccompFd);
    REQUIRE(m.fds.size() == 1);
    CHECK(m.fds[0].get() != r.get());
    CHECK(inode_of(m.fds[0].get()) == inode_of(r.get()));
    CHECK((::fcntl(m.fds[0].get(), F_GETFD) & FD_CLOEXEC) != 0);
    m = ksync::receive(p.b.get());
    CHECK(m.msg == ksync::Msg::Labels);
    REQUIRE(m.fds.size() == 2);
    // What goes into the write end comes out of the received read end.
    REQUIRE(::write(m.fds[1].get(), "x", 1) == 1);
    char c = 0;
    REQUIRE(::read(m.fds[0].get(), &c, 1) == 1);
    CHECK(c == 'x');
}

TEST_CASE("sync: more fds than the protocol carries are refused", "[sync]") {
    Pair p;
    std::vector<int> many(ksync::kMaxFds + 1, 0);
    CHECK_FALSE(ksync::send_fds(p.a.get(), ksync::Msg::Labels, many));
}

TEST_CASE("sync: EOF and a gone peer", "[sync]") {
    Pair p;
    p.a.reset();
    auto m = ksync::receive(p.b.get());
    CHECK(m.msg == ksync::Msg::None);
    CHECK(m.text.empty());
    CHECK(ksync::wait(p.b.get()) == ksync::Msg::None);
    // No SIGPIPE: false, and the test process lives on.
    CHECK_FALSE(ksync::send(p.b.get(), ksync::Msg::Go));
}

TEST_CASE("sync: a long text is cut at kMaxText, not split into messages", "[sync]") {
    Pair p;
    int size = 1 << 20;
    ::setsockopt(p.a.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    std::string text(ksync::kMaxText + 100, 'y');
    REQUIRE(ksync::send(p.a.get(), ksync::Msg::Error, text));
    REQUIRE(ksync::send(p.a.get(), ksync::Msg::Ready));
    auto m = ksync::receive(p.b.get());
    CHECK(m.msg == ksync::Msg::Error);
    CHECK(m.text == std::string(ksync::kMaxText, 'y'));
    CHECK(ksync::receive(p.b.get()).msg == ksync::Msg::Ready);
}
