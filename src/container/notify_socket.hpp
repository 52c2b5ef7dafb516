// NOTIFY_SOCKET pass-through, with runc's notify_socket.go as the model: a
// runtime started with NOTIFY_SOCKET (systemd's Type=notify, podman
// --sdnotify=container) gives the container a socket of its own,
// <state dir>/notify/notify.sock, whose directory is bound read-only at
// /run/notify with NOTIFY_SOCKET=/run/notify/notify.sock in the init's
// environment. The runtime listens on it (`run` from create on, `start`
// once it has released the init) and passes the container's READY= line on
// to the host's socket, followed by MAINPID= of the process to watch: the
// init after `start` or `run -d` (which return only then, or when the init
// has gone), kiln itself for a foreground `run`.
#pragma once

#include <sys/types.h>

#include <string>

#include "kiln/spec.hpp"
#include "util/fd.hpp"

namespace kiln::notify {

inline constexpr const char *kContainerDir = "/run/notify";

// $NOTIFY_SOCKET of the runtime, "" when unset.
std::string host_socket();

// create/run: makes <state_dir>/notify and adds its bind mount and
// NOTIFY_SOCKET to the spec (the init's environment; exec is left alone).
void setup_container(spec::Spec &spec, const std::string &state_dir);

class Relay {
public:
    Relay() = default;
    // Binds <state_dir>/notify/notify.sock (mode 0777, as runc). An empty
    // Relay when host is "" or the container was made without a socket
    // directory (created without NOTIFY_SOCKET).
    static Relay listen(const std::string &state_dir, std::string host);
    explicit operator bool() const { return static_cast<bool>(sock_); }
    int fd() const { return sock_.get(); }
    // Reads one datagram; when a line of it starts with READY=, sends that
    // line and then MAINPID=main_pid to the host and returns true.
    bool receive(pid_t main_pid);
    // Until READY= has been passed on (MAINPID=watched) or `watched` has exited.
    void wait(pid_t watched);

private:
    UniqueFd sock_;
    std::string host_;
    void send(const std::string &msg) const;
};

}  // namespace kiln::notify
