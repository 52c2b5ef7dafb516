// process.terminal: a pty from the container's /dev/ptmx whose master goes to
// the engine over the --console-socket (SCM_RIGHTS), as runc does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kiln/spec.hpp"

namespace kiln::terminal {

// Connects to the console socket (an AF_UNIX stream socket) in the runtime.
int connect_socket(const std::string &path, const char *what = "console socket");

// In the container, before privileges are dropped: allocates the pty, sizes
// it (size, else process.consoleSize), makes the slave our controlling
// terminal and stdio (and /dev/console when bind_console), sends the master
// over sock and closes it.
void setup(int sock, const spec::Process &p, bool bind_console, const std::optional<spec::ConsoleSize> &size = {});

// The window size of the runtime's stdin, when it is a terminal. When kiln
// relays the terminal, the container's pty gets it in setup(): set later, on
// the received master, the payload could already have read the old size.
std::optional<spec::ConsoleSize> caller_size();

// Sends fd over the unix socket sock (one SCM_RIGHTS message): the console
// master, or a pidfd for --pidfd-socket.
void send_fd(int sock, int fd);
// The same with data as the message's bytes (e.g. a sync-protocol tag).
void send_fd(int sock, int fd, std::string_view data);

// Connects to --pidfd-socket and sends a pidfd of pid (runc >= 1.2).
void send_pidfd(const std::string &socket_path, int pid);

// The runtime's end when kiln relays the terminal itself: the master the
// container sent over sock.
int receive_master(int sock);

}  // namespace kiln::terminal
