// Pieces `run` and `exec` share on the runtime's side.
#pragma once

#include <sys/types.h>

#include <string>

namespace kiln {

// Foreground: forwards every signal but SIGCHLD/SIGWINCH/SIGURG to pid and
// reaps children until pid exits; returns its status (128+signal if killed).
// With a pty master, relays it to our stdio (stdin raw while it lasts) and
// passes window size changes on. All signals must be blocked by the caller
// from before pid was created.
// relay: NOTIFY_SOCKET's (notify_socket.hpp): the container's READY= is
// passed on with MAINPID= of kiln itself, which stays to supervise.
namespace notify { class Relay; }
int supervise(pid_t pid, int master = -1, notify::Relay *relay = nullptr);


// runc's pid file: ".<name>" beside it (O_EXCL), decimal pid, no newline,
// renamed over the target. No-op for an empty path.
void write_pid_file(const std::string &path, pid_t pid);

}  // namespace kiln
