// The sync protocol between the runtime and the processes it starts (the
// container's init, exec's children, in_child helpers), and between `start`
// and a created init on its start socket. Every message is one datagram
// (SOCK_SEQPACKET socketpairs and the start socket): a tag byte, an optional
// text, and optional fds (SCM_RIGHTS).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.hpp"

namespace kiln::sync {

// The byte values are on the wire between processes of one kiln binary,
// except Start, which the exec stub (exec_stub.c) waits for as 'S'.
enum class Msg : char {
    None = 0,         // receive: EOF, an error, or an empty message
    Go = 'G',         // runtime -> child: carry on (cgroup joined, maps written, hooks run, agent has the fd);
                      // to the init with our view of its pid as text
    Ready = 'R',      // init -> runtime: set up, waiting for start
    Error = 'E',      // child -> runtime (or init -> `start`): failed, the text says why
    Start = 'S',      // runtime -> init (run), `start` -> init (create): exec now
    Ack = 'A',        // init -> `start` on the start socket: started
    Hooks = 'H',      // init -> runtime: mounts done, run prestart/createRuntime, then Go
    Labels = 'L',     // runtime -> init in a shared pid ns: its LSM attr files (fds), after Pid
    Pid = 'P',        // child -> runtime: the pid (text) of the process that replaces it
    NewPid = 'N',     // init -> runtime: the pid (text) of the pid 1 it forked before any setup
    Debug = 'D',      // child -> runtime: a line (text) for the --debug log
    SeccompFd = 'F',  // child -> runtime: its seccomp listener (fd) for the agent, then Go
};

struct Message {
    Msg msg = Msg::None;
    std::string text;
    std::vector<UniqueFd> fds;  // close-on-exec
};

// Sends one message; false (errno set) when the peer is gone. Never throws,
// never raises SIGPIPE: usable in a child on its way to _exit.
bool send(int sock, Msg msg, std::string_view text = {}, std::initializer_list<int> fds = {}) noexcept;
bool send_fds(int sock, Msg msg, const std::vector<int> &fds) noexcept;
// Receives one message, retrying on EINTR; Msg::None on EOF or error. Texts
// longer than kMaxText are cut; at most kMaxFds fds are taken (more close).
inline constexpr size_t kMaxText = 16384, kMaxFds = 4;
Message receive(int sock);
// The message's tag only, into no allocation (what a child waits for).
Msg wait(int sock);

}  // namespace kiln::sync
