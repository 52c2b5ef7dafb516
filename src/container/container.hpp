// A container as the commands after create see it: its record read once
// (under its lock where the command changes something), its status, and
// what can be done to it: kill, pause, resume, update, delete. The parent
// side of creation (the Launch transaction) is in lifecycle.cpp; the state
// store itself in state.hpp.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "container/state.hpp"
#include "kiln/container.hpp"

namespace kiln {

enum class Status { Created, Running, Paused, Stopped };

// "created", "running", "paused", "stopped" (the state JSON's words).
const char *to_string(Status s);

// Whether the container's cgroup is frozen; asked only of a live, started one.
using FrozenProbe = bool (*)(const StoredState &);
bool cgroup_frozen(const StoredState &s);

// The status of s, whose state directory is dir relative to dirfd, from
// its inputs in the order they are looked at: a dead (or reused, or zombie)
// init is stopped (alive()), a live one whose start socket is still there
// is created, then the freezer tells paused from running.
Status status_at(const StoredState &s, int dirfd, const std::string &dir, FrozenProbe frozen = cgroup_frozen);
Status status_of(const StoredState &s, const std::string &state_dir);

// What a teardown does to the host, in the order it does it; the real one
// is real_teardown_ops(), unit tests record the calls. A seam of its own
// beside kernel::Kernel because most steps are not system calls: the
// cgroup (kill_all, thaw, remove through the cgroup driver), the resctrl
// group, poststop hooks and the state dir. Its kill and pidfd calls do go
// through kernel::get().
class TeardownOps {
public:
    virtual ~TeardownOps() = default;
    virtual void signal_all(const StoredState &st, int sig) = 0;  // every process of the container
    virtual void thaw(const StoredState &st) = 0;
    virtual void kill_init(pid_t pid) = 0;  // SIGKILL
    virtual bool wait_gone(pid_t pid, int timeout_ms) = 0;
    virtual void remove_cgroup(const StoredState &st) = 0;  // throws when it stays
    virtual void remove_rdt(const StoredState &st) = 0;
    virtual void poststop(const StoredState &st) = 0;  // warns only
    virtual void remove_state(StateDir &dir) = 0;  // throws when it stays
};
TeardownOps &real_teardown_ops();

// The one teardown (delete, delete -f, the end of a foreground run). status:
// as found under the lock. A live container is killed and waited for (10 s;
// "container init still running" after that, as runc); a stopped one only
// has what is left in its cgroup killed when kill_rest. Then the cgroup,
// the resctrl group, poststop and the state dir, in that order. An error
// stops it there and is thrown: the record stays, naming what is left, for
// a later `delete` to try again.
void teardown(TeardownOps &ops, StateDir &dir, const StoredState &st, Status status, bool kill_rest);

class Container {
public:
    // Reads <root>/<id>/state.json once. lock: through the opened and
    // locked directory (commands that change the container); otherwise by
    // path, without opening it (kill, state, ps, events).
    static Container load(const Globals &g, const std::string &id, bool lock);
    // One already opened and loaded (delete).
    Container(StateDir dir, StoredState st);

    const StoredState &record() const { return st_; }
    StateDir &dir() { return dir_; }
    Status status() const;
    // Where status() asks about the freezer (unit tests: without a cgroup).
    void set_frozen_probe(FrozenProbe p) { frozen_ = p; }
    ContainerState to_public(Status status) const;

    void kill(int sig, bool all) const;
    void pause() const;
    void resume() const;
    void update(const spec::Resources &r) const;
    void update_rdt(const std::string &l3, const std::string &mb) const;
    // delete (force: delete -f): refuses a live one unless forced.
    void destroy(bool force, TeardownOps &ops = real_teardown_ops());
    std::string stats_event() const;
    std::vector<pid_t> pids() const;

    // One read without its directory: status looks at dir relative to dirfd (list).
    Container(StoredState st, int dirfd, std::string dir);

private:

    StateDir dir_;  // open (and locked) only when loaded with the lock
    StoredState st_;
    int at_fd_ = -1;  // where status looks: dir_'s fd and ".", or by path
    std::string at_path_;
    FrozenProbe frozen_ = cgroup_frozen;
};

// Sends sig to the init through a pidfd, guarding against the pid having
// been reused: "container not running" when it is gone.
void signal_init(const StoredState &st, int sig);

// Tells a created init waiting on its start socket to go; false when it was
// gone before it started. Throws the init's own error (a startContainer
// hook, the exec).
bool release_init(const StateDir &dir);

// The poststart hooks: failures only warn (runtime-spec; runc makes them fatal).
void run_poststart(const StoredState &st);

// The end of a foreground run, under the lock again: a `delete` from
// elsewhere may have removed the container meanwhile, and a new container
// may have taken its id since; only our own (same pid and start time) is
// torn down.
void teardown_own(const Globals &g, const StoredState &ours);

}  // namespace kiln
