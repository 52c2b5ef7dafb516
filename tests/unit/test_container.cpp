// The Container object without root: its status from the record, the
// process and the start socket (the freezer through a stand-in probe), kill
// on the pinned init, and the one teardown's order and errors through a
// recording TeardownOps.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "container/container.hpp"
#include "kiln/error.hpp"
#include "util/fd.hpp"

namespace {

struct TempRoot {
    std::string path;
    TempRoot() {
        char tmpl[] = "/tmp/kiln-unit-container.XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempRoot() {
        std::string cmd = "rm -rf '" + path + "'";
        (void)!std::system(cmd.c_str());
    }
};

// A child that waits to be killed; reaped (and killed, if still there) on
// scope exit. Back from the constructor once it has its default signal
// handlers again (Catch's would report the test's own signal as a crash).
struct Child {
    pid_t pid = -1;
    Child() {
        int ready[2];
        REQUIRE(::pipe(ready) == 0);
        pid = ::fork();
        if (pid == 0) {
            for (int sig : {SIGTERM, SIGINT, SIGABRT, SIGSEGV}) ::signal(sig, SIG_DFL);
            (void)!::write(ready[1], "x", 1);
            for (;;) ::pause();
        }
        ::close(ready[1]);
        char x;
        REQUIRE(::read(ready[0], &x, 1) == 1);
        ::close(ready[0]);
    }
    int reap() {
        int ws = 0;
        ::waitpid(pid, &ws, 0);
        pid = -1;
        return ws;
    }
    ~Child() {
        if (pid <= 0) return;
        ::kill(pid, SIGKILL);
        reap();
    }
};

kiln::StoredState record_of(pid_t pid, const std::string &id = "c1") {
    kiln::StoredState st;
    st.id = id;
    st.ociVersion = "1.0.2";
    st.bundle = "/bundle";
    st.rootfs = "/bundle/rootfs";
    st.pid = pid;
    st.start_time = kiln::process_start_time(pid);
    return st;
}

int frozen_asked = 0;
bool frozen_yes(const kiln::StoredState &) { return ++frozen_asked, true; }
bool frozen_no(const kiln::StoredState &) { return ++frozen_asked, false; }

void touch(const std::string &path) { kiln::UniqueFd(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)); }

}  // namespace

TEST_CASE("status: stopped, created, running, paused from pid, start time, start socket and freezer") {
    using kiln::Status;
    TempRoot t;
    kiln::StoredState self = record_of(::getpid());
    REQUIRE(self.start_time != 0);
    frozen_asked = 0;
    CHECK(kiln::status_at(self, AT_FDCWD, t.path, frozen_no) == Status::Running);
    CHECK(kiln::status_at(self, AT_FDCWD, t.path, frozen_yes) == Status::Paused);
    CHECK(frozen_asked == 2);
    touch(t.path + "/" + kiln::StateDir::kStartSocket);
    frozen_asked = 0;
    CHECK(kiln::status_at(self, AT_FDCWD, t.path, frozen_yes) == Status::Created);
    CHECK(frozen_asked == 0);  // a created one is never asked about the freezer

    kiln::StoredState reused = self;
    reused.start_time += 1;  // the pid is someone else's now
    CHECK(kiln::status_at(reused, AT_FDCWD, t.path, frozen_no) == Status::Stopped);
    kiln::StoredState never = self;
    never.pid = 0;  // a create killed before its init was ready
    CHECK(kiln::status_at(never, AT_FDCWD, t.path, frozen_no) == Status::Stopped);
    CHECK(frozen_asked == 0);
}

TEST_CASE("status: a forked child is running, then stopped as a zombie and once reaped") {
    using kiln::Status;
    TempRoot t;
    Child c;
    kiln::StoredState st = record_of(c.pid);
    REQUIRE(st.start_time != 0);
    CHECK(kiln::status_at(st, AT_FDCWD, t.path, frozen_no) == Status::Running);
    ::kill(c.pid, SIGKILL);
    // Not reaped yet: a zombie is stopped too.
    for (int i = 0; i < 1000 && kiln::process_start_time(c.pid) != 0; i++) ::usleep(1000);
    CHECK(kiln::status_at(st, AT_FDCWD, t.path, frozen_no) == Status::Stopped);
    c.reap();
    CHECK(kiln::status_at(st, AT_FDCWD, t.path, frozen_no) == Status::Stopped);
}

TEST_CASE("status: names for the state JSON") {
    CHECK(std::string(kiln::to_string(kiln::Status::Created)) == "created");
    CHECK(std::string(kiln::to_string(kiln::Status::Running)) == "running");
    CHECK(std::string(kiln::to_string(kiln::Status::Paused)) == "paused");
    CHECK(std::string(kiln::to_string(kiln::Status::Stopped)) == "stopped");
}

TEST_CASE("Container::load: reads the record once, by path or through the locked dir; status from there") {
    TempRoot t;
    kiln::Globals g;
    g.root = t.path;
    kiln::StoredState st = record_of(::getpid(), "box");
    st.annotations["a"] = "b";
    {
        kiln::StateDir made = kiln::StateDir::create(g.root, "box", st);
        made.listen_start_socket();  // the socket file stays: "created"
    }
    for (bool lock : {false, true}) {
        kiln::Container c = kiln::Container::load(g, "box", lock);
        c.set_frozen_probe(frozen_no);
        CHECK(c.record().id == "box");
        CHECK(c.status() == kiln::Status::Created);
        kiln::ContainerState pub = c.to_public(c.status());
        CHECK(pub.status == "created");
        CHECK(pub.pid == ::getpid());
        CHECK(pub.annotations.at("a") == "b");
        CHECK(c.to_public(kiln::Status::Stopped).pid == 0);  // stopped reports pid 0
    }
    CHECK_THROWS_WITH(kiln::Container::load(g, "nope", false), "container does not exist");
    CHECK_THROWS_WITH(kiln::Container::load(g, "nope", true), "container does not exist");
    CHECK_THROWS_WITH(kiln::Container::load(g, "../box", true), "invalid container ID format");
}

TEST_CASE("Container::kill: the pinned init gets the signal; a gone or reused one is not running") {
    TempRoot t;
    Child c;
    kiln::StoredState st = record_of(c.pid);
    kiln::Container live(kiln::StoredState(st), AT_FDCWD, t.path);
    kiln::StoredState other = st;
    other.start_time += 1;
    kiln::Container stale(std::move(other), AT_FDCWD, t.path);
    CHECK_THROWS_WITH(stale.kill(SIGTERM, false), "container not running");
    CHECK_NOTHROW(stale.kill(SIGTERM, true));  // kill --all of a stopped one: nothing to do
    CHECK(kiln::process_start_time(c.pid) == st.start_time);  // the stale record hit nothing

    live.kill(SIGTERM, false);
    int ws = c.reap();
    CHECK(WIFSIGNALED(ws));
    CHECK(WTERMSIG(ws) == SIGTERM);
    CHECK_THROWS_WITH(live.kill(SIGTERM, false), "container not running");
}

TEST_CASE("parse_signal: names with and without SIG, any case, numbers; bad input named") {
    CHECK(kiln::parse_signal("9") == SIGKILL);
    CHECK(kiln::parse_signal("0") == 0);
    CHECK(kiln::parse_signal("64") == 64);
    CHECK(kiln::parse_signal("KILL") == SIGKILL);
    CHECK(kiln::parse_signal("SIGKILL") == SIGKILL);
    CHECK(kiln::parse_signal("sigterm") == SIGTERM);
    CHECK(kiln::parse_signal("SigUsr1") == SIGUSR1);
    CHECK(kiln::parse_signal("hup") == SIGHUP);
    CHECK(kiln::parse_signal("CLD") == SIGCHLD);
    CHECK(kiln::parse_signal("WINCH") == SIGWINCH);
    CHECK_THROWS_WITH(kiln::parse_signal("65"), "unknown signal \"65\"");
    CHECK_THROWS_WITH(kiln::parse_signal("-1"), "unknown signal \"-1\"");
    CHECK_THROWS_WITH(kiln::parse_signal("9x"), "unknown signal \"9x\"");
    CHECK_THROWS_WITH(kiln::parse_signal(""), "unknown signal \"\"");
    CHECK_THROWS_WITH(kiln::parse_signal("SIG"), "unknown signal \"SIG\"");
    CHECK_THROWS_WITH(kiln::parse_signal("SIGSIGKILL"), "unknown signal \"SIGSIGKILL\"");
    CHECK_THROWS_WITH(kiln::parse_signal("FOO"), "unknown signal \"FOO\"");
}

namespace {

// Records the teardown's steps; a step named in fail throws, wait_gone
// answers gone.
struct Recorder : kiln::TeardownOps {
    std::vector<std::string> calls;
    std::string fail;
    bool gone = true;

    void step(const std::string &name) {
        calls.push_back(name);
        if (name == fail) throw kiln::Error(name + " failed");
    }
    void signal_all(const kiln::StoredState &, int sig) override { step("signal_all " + std::to_string(sig)); }
    void thaw(const kiln::StoredState &) override { step("thaw"); }
    void kill_init(pid_t) override { step("kill_init"); }
    bool wait_gone(pid_t, int timeout_ms) override {
        step("wait_gone " + std::to_string(timeout_ms));
        return gone;
    }
    void remove_cgroup(const kiln::StoredState &) override { step("remove_cgroup"); }
    void remove_rdt(const kiln::StoredState &) override { step("remove_rdt"); }
    void poststop(const kiln::StoredState &) override { step("poststop"); }
    void remove_state(kiln::StateDir &) override { step("remove_state"); }
};

using Calls = std::vector<std::string>;
const Calls kResources = {"remove_cgroup", "remove_rdt", "poststop", "remove_state"};

Calls plus(Calls a, const Calls &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// delete (-f) of a container whose status the stand-in probe decides:
// live is this test process, stopped a pid that is gone.
Calls delete_calls(Recorder &r, bool live, bool paused, bool created, bool force, bool own_pid_ns = true,
                   pid_t pid = 0) {
    TempRoot t;
    kiln::StoredState st = record_of(live ? ::getpid() : 0);
    if (!live && pid) {
        st.pid = pid;  // a pid that cannot exist (above pid_max): stopped
        st.start_time = 1;
    }
    st.own_pid_ns = own_pid_ns;
    st.hooks = "{\"poststop\":[]}";
    kiln::Globals g;
    g.root = t.path;
    {
        kiln::StateDir made = kiln::StateDir::create(g.root, "c1", st);
        if (created) made.listen_start_socket();
    }
    kiln::Container c = kiln::Container::load(g, "c1", true);
    c.set_frozen_probe(paused ? frozen_yes : frozen_no);
    c.destroy(force, r);
    return r.calls;
}

}  // namespace

TEST_CASE("teardown: a live container is killed and waited for before its resources go") {
    Recorder r;
    CHECK(delete_calls(r, true, false, false, true) ==
          plus({"signal_all 9", "kill_init", "wait_gone 10000"}, kResources));
    Recorder p;  // paused: thawed after the kill is queued, or nothing could die
    CHECK(delete_calls(p, true, true, false, true) ==
          plus({"signal_all 9", "thaw", "kill_init", "wait_gone 10000"}, kResources));
    Recorder c;  // created: deleted without -f, as runc
    CHECK(delete_calls(c, true, false, true, false) ==
          plus({"signal_all 9", "kill_init", "wait_gone 10000"}, kResources));
}

TEST_CASE("teardown: delete without -f refuses a running or paused container and touches nothing") {
    Recorder r;
    CHECK_THROWS_WITH(delete_calls(r, true, false, false, false), "cannot delete container c1 that is not stopped: running");
    CHECK(r.calls.empty());
    Recorder p;
    CHECK_THROWS_WITH(delete_calls(p, true, true, false, false), "cannot delete container c1 that is not stopped: paused");
    CHECK(p.calls.empty());
}

TEST_CASE("teardown: a stopped container: leftovers killed only where the init's death did not take them") {
    Recorder own;  // its own pid namespace went with its init
    CHECK(delete_calls(own, false, false, false, false, true, 999999999) == kResources);
    Recorder shared_f;  // a shared pid namespace: delete -f kills what is left
    CHECK(delete_calls(shared_f, false, false, false, true, false, 999999999) == plus({"signal_all 9"}, kResources));
    Recorder shared;
    CHECK(delete_calls(shared, false, false, false, false, false, 999999999) == kResources);
    // pid 0: a create killed before its init was ready; no container ran, no poststop.
    Recorder never;
    CHECK(delete_calls(never, false, false, false, false) ==
          Calls{"signal_all 9", "remove_cgroup", "remove_rdt", "remove_state"});
}

TEST_CASE("teardown: errors are reported and what comes after stays (the record names what is left)") {
    Recorder busy;
    busy.fail = "remove_cgroup";
    CHECK_THROWS_WITH(delete_calls(busy, false, false, false, true, true, 999999999), "remove_cgroup failed");
    CHECK(busy.calls == Calls{"remove_cgroup"});

    Recorder stuck;  // the init did not die in 10 s: runc's "container init still running"
    stuck.gone = false;
    CHECK_THROWS_WITH(delete_calls(stuck, true, false, false, true), "container init still running");
    CHECK(stuck.calls == Calls{"signal_all 9", "kill_init", "wait_gone 10000"});

    Recorder kill_fails;
    kill_fails.fail = "signal_all 9";
    CHECK_THROWS_WITH(delete_calls(kill_fails, true, false, false, true), "signal_all 9 failed");
    CHECK(kill_fails.calls == Calls{"signal_all 9"});

    Recorder dir;
    dir.fail = "remove_state";
    CHECK_THROWS_WITH(delete_calls(dir, false, false, false, true, true, 999999999), "remove_state failed");
    CHECK(dir.calls == kResources);
}

TEST_CASE("teardown: the end of a foreground run kills what is left of an init already reaped") {
    TempRoot t;
    kiln::StoredState st = record_of(0);
    st.pid = 999999999;
    kiln::StateDir dir = kiln::StateDir::create(t.path, "c1", st);
    Recorder r;
    kiln::teardown(r, dir, st, kiln::Status::Stopped, true);
    CHECK(r.calls == Calls{"signal_all 9", "remove_cgroup", "remove_rdt", "remove_state"});  // no hooks: no poststop
}

TEST_CASE("teardown: the real state dir removal, and again once it is gone") {
    TempRoot t;
    kiln::StoredState st = record_of(0);
    kiln::StateDir dir = kiln::StateDir::create(t.path, "c1", st);
    std::string path = t.path + "/c1";
    CHECK_NOTHROW(kiln::real_teardown_ops().remove_state(dir));
    struct stat sb;
    CHECK(::stat(path.c_str(), &sb) < 0);
    CHECK_NOTHROW(kiln::real_teardown_ops().remove_state(dir));  // already gone: nothing to report
}
