// The state store's file handling: the atomic write through the locked
// directory's fd, the --root ownership rule, and a state dir that appears
// locked and with its record (no mkdir-then-flock window).
#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <regex>
#include <string>

#include "container/state.hpp"
#include "kiln/error.hpp"
#include "util/fd.hpp"

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/kiln-unit-state.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::string cmd = "rm -rf '" + path + "'";
        (void)!std::system(cmd.c_str());
    }
};

int entries(const std::string &dir) {
    int n = 0;
    DIR *d = ::opendir(dir.c_str());
    while (auto *e = ::readdir(d)) n += e->d_name[0] != '.' || (e->d_name[1] && e->d_name[1] != '.') ? 1 : 0;
    ::closedir(d);
    return n;
}

}  // namespace

TEST_CASE("write_file_atomic: a planted state.json.tmp symlink is not followed") {
    TempDir t;
    std::string dir = t.path + "/c", victim = t.path + "/victim";
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    kiln::UniqueFd v(::open(victim.c_str(), O_CREAT | O_WRONLY, 0644));
    REQUIRE(kiln::write_all(v.get(), "ORIG"));
    REQUIRE(::symlink(victim.c_str(), (dir + "/state.json.tmp").c_str()) == 0);
    kiln::UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY));
    kiln::write_file_atomic(dfd.get(), "state.json", "{\"id\":\"x\"}", 0600);
    CHECK(kiln::read_file(victim) == "ORIG");
    CHECK(kiln::read_file(dir + "/state.json") == "{\"id\":\"x\"}");
    struct stat st;
    REQUIRE(::stat((dir + "/state.json").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(entries(dir) == 2);  // state.json and the untouched symlink: no temp file left
}

TEST_CASE("write_file_atomic: goes to the directory of the fd, wherever its path now leads") {
    TempDir t;
    std::string dir = t.path + "/c";
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    kiln::UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY));
    // Someone moves the directory away and puts another in its place.
    REQUIRE(::rename(dir.c_str(), (dir + ".moved").c_str()) == 0);
    REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
    kiln::write_file_atomic(dfd.get(), "state.json", "S", 0600);
    CHECK(kiln::read_file(dir + ".moved/state.json") == "S");
    CHECK(entries(dir) == 0);
}

TEST_CASE("check_root: a --root others can write is refused") {
    TempDir t;
    REQUIRE(::chmod(t.path.c_str(), 0700) == 0);
    CHECK_NOTHROW(kiln::check_root(t.path));
    CHECK_NOTHROW(kiln::check_root(t.path + "/missing"));  // made 0700 on create
    REQUIRE(::chmod(t.path.c_str(), 0777) == 0);
    CHECK_THROWS_WITH(kiln::check_root(t.path), Catch::Contains("writable by other users (mode 0777"));
    REQUIRE(::chmod(t.path.c_str(), 01777) == 0);  // sticky still lets others squat ids
    CHECK_THROWS_WITH(kiln::check_root(t.path), Catch::Contains("mode 1777"));
    REQUIRE(::chmod(t.path.c_str(), 0770) == 0);
    CHECK_THROWS(kiln::check_root(t.path));
    REQUIRE(::chmod(t.path.c_str(), 0755) == 0);
    if (::geteuid() == 0) {
        REQUIRE(::chown(t.path.c_str(), 65534, 65534) == 0);  // another user's directory
        CHECK_THROWS_WITH(kiln::check_root(t.path), Catch::Contains("owner uid 65534"));
    }
}

TEST_CASE("StateDir::create: the dir appears locked, with its record, and nothing else is left") {
    TempDir t;
    std::string root = t.path + "/root";
    kiln::StoredState first;
    first.id = "c1";
    first.bundle = t.path + "/bundle";
    auto sd = kiln::StateDir::create(root, "c1", first);
    CHECK(sd.path() == root + "/c1");
    CHECK(entries(root) == 1);  // no temporary dir left beside it
    // Another command sees a locked dir (it waits), and once it has the lock a record.
    kiln::UniqueFd other(::open((root + "/c1").c_str(), O_RDONLY | O_DIRECTORY));
    REQUIRE(other);
    CHECK(::flock(other.get(), LOCK_EX | LOCK_NB) < 0);
    CHECK(errno == EWOULDBLOCK);
    CHECK(kiln::load_state(root, "c1").bundle == t.path + "/bundle");
    // The id is taken, and the second create leaves nothing behind.
    CHECK_THROWS_WITH(kiln::StateDir::create(root, "c1", first), "container with given ID already exists");
    CHECK(entries(root) == 1);
    // An empty dir in the way (an aborted create) is not replaced either.
    REQUIRE(::mkdir((root + "/c2").c_str(), 0711) == 0);
    CHECK_THROWS_WITH(kiln::StateDir::create(root, "c2", first), "container with given ID already exists");
    CHECK(entries(root) == 2);
}

TEST_CASE("StateDir::sweep: removes the temporary dirs of creates that are gone, only those") {
    TempDir t;
    std::string root = t.path;
    pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    REQUIRE(dead > 0);
    REQUIRE(::waitpid(dead, nullptr, 0) == dead);
    std::string gone = root + "/.new-" + std::to_string(dead) + "-aaaa";
    std::string alive = root + "/.new-" + std::to_string(::getpid()) + "-bbbb";
    REQUIRE(::mkdir(gone.c_str(), 0711) == 0);
    REQUIRE(::mkdir(alive.c_str(), 0711) == 0);
    REQUIRE(::mkdir((root + "/c1").c_str(), 0711) == 0);
    kiln::UniqueFd f(::open((gone + "/state.json").c_str(), O_CREAT | O_WRONLY, 0600));
    REQUIRE(f);
    kiln::StateDir::sweep(root);
    CHECK(::access(gone.c_str(), F_OK) < 0);
    CHECK(::access(alive.c_str(), F_OK) == 0);
    CHECK(::access((root + "/c1").c_str(), F_OK) == 0);
}

TEST_CASE("state.json: the planned cgroup dirs of a create under way round-trip") {
    TempDir t;
    kiln::StoredState first;
    first.id = "c1";
    first.cgroup_planned = {t.path + "/cg/memory/c1", t.path + "/cg/pids/c1"};
    auto sd = kiln::StateDir::create(t.path + "/root", "c1", first);
    auto back = sd.load();
    CHECK(back.cgroup_planned == first.cgroup_planned);
    CHECK(back.cgroup.dirs.empty());
    CHECK(back.pid == 0);
    // Once made, the record names the dirs as made and no plan.
    first.cgroup.dirs = first.cgroup_planned;
    first.cgroup_planned.clear();
    sd.save(first);
    CHECK(sd.load().cgroup_planned.empty());
    CHECK(kiln::read_file(t.path + "/root/c1/state.json").find("cgroup_planned") == std::string::npos);
}

TEST_CASE("try_read_small_file: one read for a small file, the rest of a larger one too") {
    TempDir t;
    kiln::UniqueFd d(::open(t.path.c_str(), O_RDONLY | O_DIRECTORY));
    std::string small = "{\"id\":\"x\"}", big(20000, 'a');
    big[8191] = 'b';
    big.back() = 'z';
    kiln::write_file_atomic(d.get(), "small", small, 0600);
    kiln::write_file_atomic(d.get(), "big", big, 0600);
    std::string out;
    REQUIRE(kiln::try_read_small_file(d.get(), "small", out));
    CHECK(out == small);
    REQUIRE(kiln::try_read_small_file(d.get(), "big", out));
    CHECK(out == big);
    REQUIRE(kiln::try_read_small_file(AT_FDCWD, (t.path + "/big").c_str(), out));
    CHECK(out.size() == big.size());
    CHECK_FALSE(kiln::try_read_small_file(d.get(), "missing", out));
    CHECK(errno == ENOENT);
}

TEST_CASE("StateDir::remove: the known files by name, anything else left there by the walk") {
    TempDir t;
    kiln::StoredState st;
    st.id = "c1";
    auto sd = kiln::StateDir::create(t.path, "c1", st);
    sd.save_config("{}");
    sd.remove();
    CHECK(::access((t.path + "/c1").c_str(), F_OK) != 0);

    st.id = "c2";
    auto other = kiln::StateDir::create(t.path, "c2", st);
    REQUIRE(::mkdir((t.path + "/c2/notify").c_str(), 0700) == 0);
    kiln::UniqueFd f(::open((t.path + "/c2/notify/notify.sock").c_str(), O_CREAT | O_WRONLY, 0600));
    other.remove();
    CHECK(::access((t.path + "/c2").c_str(), F_OK) != 0);
    CHECK(entries(t.path) == 0);
}

TEST_CASE("now_rfc3339nano is Go's RFC3339Nano in UTC, without a trailing zero", "[state]") {
    std::regex go(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$)");
    for (int i = 0; i < 50; i++) {
        std::string t = kiln::now_rfc3339nano();
        INFO(t);
        CHECK(std::regex_match(t, go));
    }
    // Now, on the clock it reads (time() is the coarse clock, which can lag
    // behind CLOCK_REALTIME across a second boundary): one of the seconds
    // read just before and just after.
    auto second = [](time_t t) {
        struct tm tm;
        ::gmtime_r(&t, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        return std::string(buf);
    };
    struct timespec before, after;
    ::clock_gettime(CLOCK_REALTIME, &before);
    std::string t = kiln::now_rfc3339nano().substr(0, 19);
    ::clock_gettime(CLOCK_REALTIME, &after);
    INFO(t);
    CHECK((t == second(before.tv_sec) || t == second(after.tv_sec)));
}

TEST_CASE("rfc3339nano's civil date is gmtime's, leap days and centuries included", "[state]") {
    auto want = [](time_t t) {
        struct tm tm;
        ::gmtime_r(&t, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return std::string(buf);
    };
    // 1970, 2000-02-29, 2100-03-01 (no leap day), 2400-02-29, and a walk in between.
    for (time_t t : {time_t(0), time_t(951782400), time_t(4107542400), time_t(13574563200)})
        CHECK(kiln::rfc3339nano({t, 0}) == want(t));
    for (time_t t = 0; t < time_t(13574563200); t += 7654321) {
        INFO(t);
        CHECK(kiln::rfc3339nano({t, 0}) == want(t));
    }
    CHECK(kiln::rfc3339nano({951782400, 120000000}) == "2000-02-29T00:00:00.12Z");
}
