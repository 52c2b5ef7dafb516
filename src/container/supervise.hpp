// The foreground side of `run`, `exec` and `restore`: kiln stays, relays
// signals and the terminal, and returns the process's exit status.
#pragma once

#include <sys/types.h>

namespace kiln {

namespace notify { class Relay; }

// Forwards every signal but SIGCHLD/SIGWINCH/SIGURG to pid and reaps
// children until pid exits; returns its status (128+signal if killed).
// With a pty master, relays it to our stdio (stdin raw while it lasts) and
// passes window size changes on. All signals must be blocked by the caller
// from before pid was created.
// relay: NOTIFY_SOCKET's (notify_socket.hpp): the container's READY= is
// passed on with MAINPID= of kiln itself, which stays to supervise.
int supervise(pid_t pid, int master = -1, notify::Relay *relay = nullptr);

}  // namespace kiln
