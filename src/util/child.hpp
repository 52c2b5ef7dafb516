// The processes kiln forks or clones: the container's init, exec's two
// children, hook children, ps's child, in_child helpers. Each spends its whole
// life in child::run, so that no exception thrown there can unwind into the
// frames it copied from the parent (a Launch whose destructor would kill the
// container and remove its state).
#pragma once

#include <sys/types.h>

#include <functional>

namespace kiln::child {

// Throws Error unless this process runs one thread. fork() and clone()
// copy only the calling thread: a lock another thread held (malloc's, stdio's)
// would stay locked in the child forever. kiln starts no threads; this holds
// that. One stat(2) of /proc/self/task (its link count is 2 + threads),
// about 13 us on a loaded host, against some 100 us for the fork itself.
// Inside child::run it passes at once: a child of a checked fork runs one
// thread, and its /proc may already be the container's.
void check_single_threaded();

// fork(), or a raw clone(2) with flags | SIGCHLD (no new stack: it returns
// twice like fork), after check_single_threaded; throws Error("<what>: <errno>").
pid_t fork(const char *what = "fork");
pid_t clone(unsigned long flags, const char *what = "clone");

// The child's whole life: runs fn and _exits 0 when it returns. Any
// exception is reported, as sync::Msg::Error with its text on sync_fd
// (stderr as "kiln: <text>" when sync_fd < 0), and the child _exits 1.
// Never returns and never throws.
[[noreturn]] void run(int sync_fd, const std::function<void()> &fn) noexcept;

// From now on a running child's errors go to fd (-1: none) and, with
// also_stderr, to stderr too: once the runtime stopped listening on the
// sync socket (the init after `start`).
void report_to(int fd, bool also_stderr) noexcept;

}  // namespace kiln::child

namespace kiln {

// Runs fn in a child process and waits for it; an exception thrown there
// comes back here as Error(its message). fn must not return into our
// caller's stack frames in the child (it is the child's whole life).
void in_child(const std::function<void()> &fn);

}  // namespace kiln
