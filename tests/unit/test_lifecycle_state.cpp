// The state store as the lifecycle uses it, without root: ids, runc's pid
// file, create/open/lock/load/remove of a state dir in a temporary root,
// and the races the lock and the rename settle.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "container/state.hpp"
#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "util/fd.hpp"

namespace {

struct TempRoot {
    std::string path;
    TempRoot() {
        char tmpl[] = "/tmp/kiln-unit-lcstate.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempRoot() {
        std::string cmd = "rm -rf '" + path + "'";
        (void)!std::system(cmd.c_str());
    }
};

bool exists(const std::string &p) {
    struct stat sb;
    return ::lstat(p.c_str(), &sb) == 0;
}

// Names in dir other than . and ..
std::vector<std::string> names(const std::string &dir) {
    std::vector<std::string> out;
    DIR *d = ::opendir(dir.c_str());
    while (auto *e = ::readdir(d))
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
    ::closedir(d);
    return out;
}

kiln::StoredState record(const std::string &id) {
    kiln::StoredState st;
    st.id = id;
    st.ociVersion = "1.0.2";
    st.bundle = "/b";
    st.pid = 42;
    st.start_time = 7;
    return st;
}

// Runs f in a child; true when it exited 0.
template <class F> bool in_child(F f) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(f() ? 0 : 1);
    int ws = 0;
    ::waitpid(pid, &ws, 0);
    return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

}  // namespace

TEST_CASE("validate_id: runc's characters, never empty, never . or ..") {
    for (const char *ok : {"a", "box-1", "A_b.c+d", "0", "...", "a..b"}) CHECK_NOTHROW(kiln::validate_id(ok));
    CHECK_THROWS_WITH(kiln::validate_id(""), "container id cannot be empty");
    for (const char *bad : {".", "..", "a/b", "../x", "a b", "a\nb", "x:y", "caf\xc3\xa9", "a*"})
        CHECK_THROWS_WITH(kiln::validate_id(bad), "invalid container ID format");
}

TEST_CASE("write_pid_file: the pid alone, through .<name> renamed over the target") {
    TempRoot t;
    std::string file = t.path + "/pid";
    kiln::write_pid_file(file, 1234);
    CHECK(kiln::read_file(file) == "1234");  // no newline, as runc
    kiln::write_pid_file(file, 56);  // replaces what is there
    CHECK(kiln::read_file(file) == "56");
    CHECK(names(t.path) == std::vector<std::string>{"pid"});  // no .pid left
    CHECK_NOTHROW(kiln::write_pid_file("", 1));  // no --pid-file: nothing
    CHECK(names(t.path).size() == 1);
}

TEST_CASE("write_pid_file: a .<name> already there is not overwritten (O_EXCL)") {
    TempRoot t;
    std::string file = t.path + "/pid";
    {
        kiln::UniqueFd fd(::open((t.path + "/.pid").c_str(), O_CREAT | O_WRONLY, 0600));
        REQUIRE(kiln::write_all(fd.get(), "planted"));
    }
    CHECK_THROWS_WITH(kiln::write_pid_file(file, 9), Catch::Contains("open " + t.path + "/.pid"));
    CHECK(kiln::read_file(t.path + "/.pid") == "planted");
    CHECK(!exists(file));
}

TEST_CASE("write_pid_file: a relative path is relative to the working directory") {
    TempRoot t;
    REQUIRE(::mkdir((t.path + "/sub").c_str(), 0700) == 0);
    kiln::UniqueFd old(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(::chdir(t.path.c_str()) == 0);
    kiln::write_pid_file("top", 1);
    kiln::write_pid_file("sub/inner", 2);
    REQUIRE(::fchdir(old.get()) == 0);
    CHECK(kiln::read_file(t.path + "/top") == "1");
    CHECK(kiln::read_file(t.path + "/sub/inner") == "2");
    CHECK(names(t.path + "/sub") == std::vector<std::string>{"inner"});
}

TEST_CASE("StateDir: create, then open/load through the lock, save, load by path, remove") {
    TempRoot t;
    kiln::StoredState st = record("c");
    st.annotations["k"] = "v";
    {
        kiln::StateDir d = kiln::StateDir::create(t.path, "c", st);
        CHECK(d.path() == t.path + "/c");
        CHECK(d.load().pid == 42);
    }
    kiln::StateDir d = kiln::StateDir::open(t.path, "c");
    kiln::StoredState back = d.load();
    CHECK(back.id == "c");
    CHECK(back.start_time == 7);
    CHECK(back.annotations.at("k") == "v");
    back.pid = 43;
    d.save(back);
    CHECK(kiln::load_state(t.path, "c").pid == 43);  // no lock needed to read
    kiln::UniqueFd root(::open(t.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    CHECK(kiln::load_state_at(root.get(), "c", "shown").pid == 43);
    REQUIRE(::mkdir((t.path + "/c/checkpoint").c_str(), 0700) == 0);  // leftovers go too
    CHECK(d.remove());
    CHECK(!exists(t.path + "/c"));
    CHECK(d.remove());  // gone already
    try {
        kiln::StateDir::open(t.path, "c");
        FAIL("opened a removed container");
    } catch (const kiln::Error &e) {
        CHECK(std::string(e.what()) == "container does not exist");
        CHECK(e.code() == ENOENT);
    }
    CHECK_THROWS_WITH(kiln::load_state(t.path, "c"), "container does not exist");
}

TEST_CASE("StateDir: the lock is held while open, by another command's open too") {
    TempRoot t;
    kiln::StateDir d = kiln::StateDir::create(t.path, "c", record("c"));
    auto try_lock = [&] {
        kiln::UniqueFd fd(::open((t.path + "/c").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        return ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0;
    };
    CHECK(!in_child(try_lock));
    d.close();
    CHECK(in_child(try_lock));
    kiln::StateDir again = kiln::StateDir::open(t.path, "c");
    CHECK(!in_child(try_lock));
    kiln::StateDir unlocked = kiln::StateDir::open(t.path, "c", false);  // lock=false: no wait
    CHECK(unlocked.load().id == "c");
}

TEST_CASE("StateDir::create: a taken id, or an empty dir in its place, is refused and nothing is left") {
    TempRoot t;
    kiln::StateDir first = kiln::StateDir::create(t.path, "c", record("c"));
    CHECK_THROWS_WITH(kiln::StateDir::create(t.path, "c", record("c")), "container with given ID already exists");
    REQUIRE(::mkdir((t.path + "/empty").c_str(), 0700) == 0);
    CHECK_THROWS_WITH(kiln::StateDir::create(t.path, "empty", record("empty")),
                      "container with given ID already exists");
    auto left = names(t.path);
    std::sort(left.begin(), left.end());
    CHECK(left == std::vector<std::string>{"c", "empty"});  // no .new-* temporary dirs
    CHECK(first.load().id == "c");
    CHECK(names(t.path + "/empty").empty());
}

TEST_CASE("StateDir: a delete that wins the lock leaves the waiting command with \"container does not exist\"") {
    TempRoot t;
    kiln::StateDir d = kiln::StateDir::create(t.path, "c", record("c"));
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ready[0]);
        d.close();  // our copy of the delete's fd would keep its lock from us
        (void)!::write(ready[1], "x", 1);
        // Usually opened before the delete, then waits for the lock the
        // delete holds; opened after it, the same answer.
        try {
            kiln::StateDir::open(t.path, "c").load();
        } catch (const kiln::Error &e) {
            ::_exit(e.code() == ENOENT && std::string(e.what()) == "container does not exist" ? 0 : 2);
        }
        ::_exit(1);
    }
    ::close(ready[1]);
    char x;
    REQUIRE(::read(ready[0], &x, 1) == 1);
    ::close(ready[0]);
    ::usleep(50 * 1000);  // let it reach flock
    CHECK(d.remove());
    d.close();
    int ws = 0;
    ::waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws));
    CHECK(WEXITSTATUS(ws) == 0);
}

TEST_CASE("hook_state: the runtime-spec state of the record, with the status and pid given") {
    kiln::StoredState st = record("c");
    st.annotations["x"] = "y";
    auto doc = kiln::json::Doc::parse(kiln::hook_state(st, "stopped", 0), "state");
    CHECK(doc.get_string({"id"}) == "c");
    CHECK(doc.get_string({"status"}) == "stopped");
    CHECK(doc.get_int({"pid"}) == 0);
    CHECK(doc.get_string({"bundle"}) == "/b");
    CHECK(doc.get_string({"annotations", "x"}) == "y");
}
