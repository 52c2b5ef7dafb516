// The pure parts of `checkpoint` (src/container/checkpoint.cpp): its flag
// checks (runc's words) and descriptors.json, without CRIU.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "container/checkpoint.hpp"
#include "kiln/error.hpp"
#include "scratch_dir.hpp"
#include "util/fd.hpp"

TEST_CASE("checkpoint: --page-server ADDRESS:PORT", "[checkpoint_args]") {
    std::string addr;
    int port = 0;
    kiln::split_page_server("10.0.0.1:8080", addr, port);
    CHECK(addr == "10.0.0.1");
    CHECK(port == 8080);
    kiln::split_page_server("[::1]:27", addr, port);
    CHECK(addr == "::1");
    CHECK(port == 27);
    for (const char *bad : {"10.0.0.1", ":80", "host:"})
        REQUIRE_THROWS_WITH(kiln::split_page_server(bad, addr, port), "Use --page-server ADDRESS:PORT to specify page server");
    for (const char *bad : {"host:0", "host:65536", "host:8x", "host:-1"})
        REQUIRE_THROWS_WITH(kiln::split_page_server(bad, addr, port), "Invalid port number");
}

TEST_CASE("checkpoint: --parent-path", "[checkpoint_args]") {
    kiln::test::ScratchDir dir;
    kiln::CheckpointOptions o;
    o.image_path = dir.path;
    kiln::check_parent_path(o);  // none
    o.parent_path = "/abs";
    REQUIRE_THROWS_WITH(kiln::check_parent_path(o), "--parent-path must be relative");
    o.parent_path = "../pre";
    REQUIRE_THROWS_WITH(kiln::check_parent_path(o), Catch::StartsWith("invalid --parent-path: stat " + dir.path + "/../pre"));
    REQUIRE(::mkdir((dir.path + "/pre").c_str(), 0700) == 0);
    o.parent_path = "pre";
    kiln::check_parent_path(o);
    REQUIRE(::close(::open((dir.path + "/file").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) == 0);
    o.parent_path = "file";
    REQUIRE_THROWS_WITH(kiln::check_parent_path(o), Catch::StartsWith("invalid --parent-path: stat " + dir.path + "/file"));
}

TEST_CASE("checkpoint: --status-fd must be open for writing", "[checkpoint_args]") {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    kiln::UniqueFd r(p[0]), w(p[1]);
    kiln::check_status_fd(w.get());
    REQUIRE_THROWS_WITH(kiln::check_status_fd(r.get()), "invalid --status-fd argument " + std::to_string(r.get()) + ": not writable");
    int closed = r.release();
    ::close(closed);
    REQUIRE_THROWS_WITH(kiln::check_status_fd(closed), Catch::StartsWith("invalid --status-fd argument " + std::to_string(closed) + ": "));
}

TEST_CASE("checkpoint: descriptors.json names the process's stdio", "[checkpoint_args]") {
    kiln::test::ScratchDir dir;
    auto link = [](int fd) {
        char buf[4096];
        ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf);
        REQUIRE(n > 0);
        return std::string(buf, static_cast<size_t>(n));
    };
    kiln::write_descriptors(dir.path, ::getpid());
    std::string text;
    REQUIRE(kiln::try_read_file(dir.path + "/descriptors.json", text));
    std::string expected = "[\"" + link(0) + "\",\"" + link(1) + "\",\"" + link(2) + "\"]";
    CHECK(text == expected);
    struct stat st;
    REQUIRE(::stat((dir.path + "/descriptors.json").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}
