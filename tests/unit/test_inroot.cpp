// In-root lookups (linux/inroot.cpp) and sealed copies (linux/sealed.cpp):
// the confinement the init and the exec child rely on, checked on a temp
// directory standing in for a container root. No root needed.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "../../src/linux/inroot.hpp"
#include "../../src/linux/sealed.hpp"
#include "../../src/util/sha256.hpp"
#include "kiln/error.hpp"

namespace {

struct TempRoot {
    std::string path;
    kiln::UniqueFd fd;
    TempRoot() {
        char tmpl[] = "/tmp/kiln-unit-root.XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        path = tmpl;
        fd.reset(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        REQUIRE(fd);
    }
    ~TempRoot() { (void)!std::system(("rm -rf " + path + " " + path + "-outside").c_str()); }
    void write(const std::string &rel, const std::string &text) const {
        kiln::UniqueFd f(::open((path + "/" + rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        REQUIRE(f);
        REQUIRE(kiln::write_all(f.get(), text));
    }
};

}  // namespace

TEST_CASE("inroot: symlinks and .. stay inside the root", "[inroot]") {
    TempRoot r;
    ::mkdir((r.path + "-outside").c_str(), 0755);
    ::mkdir((r.path + "/etc").c_str(), 0755);
    r.write("etc/real", "inside\n");
    kiln::UniqueFd f(::open((r.path + "-outside/passwd").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    REQUIRE(kiln::write_all(f.get(), "outside\n"));
    // an absolute symlink and a climbing one both land inside the root
    REQUIRE(::symlink((r.path + "-outside/passwd").c_str(), (r.path + "/etc/abs").c_str()) == 0);
    REQUIRE(::symlink("../../../../../../../etc/real", (r.path + "/etc/up").c_str()) == 0);
    std::string out;
    CHECK_FALSE(kiln::inroot::read_regular(r.fd.get(), "/etc/abs", 1024, out));  // no such file in the root
    REQUIRE(kiln::inroot::read_regular(r.fd.get(), "/etc/up", 1024, out));
    CHECK(out == "inside\n");
    REQUIRE(kiln::inroot::read_regular(r.fd.get(), "../../../etc/real", 1024, out));
    CHECK(out == "inside\n");
}

TEST_CASE("inroot: no magic links", "[inroot]") {
    TempRoot r;
    kiln::UniqueFd outside(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    std::string link = "/proc/self/fd/" + std::to_string(outside.get()) + "/etc/hostname";
    REQUIRE(::symlink(link.c_str(), (r.path + "/hostname").c_str()) == 0);
    std::string out;
    // plain resolution would follow the fd to the real root
    CHECK_FALSE(kiln::inroot::read_regular(r.fd.get(), "/hostname", 1 << 20, out));
    CHECK(kiln::inroot::open(r.fd.get(), link, O_PATH) < 0);
}

TEST_CASE("inroot: read_regular refuses FIFOs and big files without blocking", "[inroot]") {
    TempRoot r;
    REQUIRE(::mkfifo((r.path + "/fifo").c_str(), 0644) == 0);
    std::string out;
    CHECK_FALSE(kiln::inroot::read_regular(r.fd.get(), "/fifo", 1024, out));  // would block without O_NONBLOCK
    CHECK(errno == EINVAL);
    r.write("big", std::string(5000, 'x'));
    CHECK_FALSE(kiln::inroot::read_regular(r.fd.get(), "/big", 4096, out));
    CHECK(errno == EFBIG);
    REQUIRE(kiln::inroot::read_regular(r.fd.get(), "/big", 5000, out));
    CHECK(out.size() == 5000);
}

TEST_CASE("inroot: make_dirs creates inside the root only", "[inroot]") {
    TempRoot r;
    ::mkdir((r.path + "-outside").c_str(), 0755);
    REQUIRE(::symlink((r.path + "-outside").c_str(), (r.path + "/escape").c_str()) == 0);
    // the absolute symlink resolves in the root, where its target does not
    // exist: refused, and nothing is made outside
    CHECK_THROWS_WITH(kiln::inroot::make_dirs(r.fd.get(), "/escape/a/b"), Catch::Contains("/escape/a/b"));
    struct stat st;
    CHECK(::stat((r.path + "-outside/a").c_str(), &st) < 0);
    REQUIRE(::mkdir((r.path + "/real").c_str(), 0755) == 0);
    REQUIRE(::symlink("/real", (r.path + "/inside").c_str()) == 0);
    CHECK(kiln::inroot::make_dirs(r.fd.get(), "/inside/a/b"));
    CHECK(::stat((r.path + "/real/a/b").c_str(), &st) == 0);
    auto up = kiln::inroot::make_dirs(r.fd.get(), "/../../x/../y");
    CHECK(::stat((r.path + "/y").c_str(), &st) == 0);
}

TEST_CASE("sealed: memfd copies are read-only and hash what they copy", "[sealed]") {
    TempRoot r;
    r.write("tool", "#!/bin/sh\necho tool\n");
    kiln::UniqueFd src(::open((r.path + "/tool").c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(src);
    CHECK_FALSE(kiln::sealed::is_readonly(src.get()));
    kiln::Sha256 h;
    auto copy = kiln::sealed::memfd_copy(src.get(), "tool", &h);
    CHECK(h.hex() == kiln::sha256_hex("#!/bin/sh\necho tool\n"));
    CHECK(kiln::sealed::is_readonly(copy.get()));
    CHECK(::write(copy.get(), "x", 1) < 0);
    CHECK(::ftruncate(copy.get(), 0) < 0);
    // reopened for writing through /proc (as an attacker would): refused
    std::string again = "/proc/self/fd/" + std::to_string(copy.get());
    kiln::UniqueFd w(::open(again.c_str(), O_WRONLY | O_CLOEXEC));
    if (w) CHECK(::write(w.get(), "x", 1) < 0);
    kiln::UniqueFd big(::open((r.path + "/tool").c_str(), O_RDONLY | O_CLOEXEC));
    CHECK_THROWS(kiln::sealed::memfd_copy(big.get(), "tool", nullptr, 4));
}

TEST_CASE("sealed: a read-only view cannot be written", "[sealed]") {
    TempRoot r;
    r.write("bin", "content");
    kiln::UniqueFd src(::open((r.path + "/bin").c_str(), O_RDONLY | O_CLOEXEC));
    auto view = kiln::sealed::readonly_view(src.get(), "bin");  // a ro bind as root, else a memfd
    CHECK(kiln::sealed::is_readonly(view.get()));
    std::string again = "/proc/self/fd/" + std::to_string(view.get());
    kiln::UniqueFd w(::open(again.c_str(), O_WRONLY | O_CLOEXEC));
    if (w) CHECK(::write(w.get(), "x", 1) < 0);
    std::string text;
    kiln::UniqueFd rd(::open(again.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(rd);
    CHECK(kiln::read_fd(rd.get()) == "content");
}
