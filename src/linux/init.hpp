// The container's init: what runs in the cloned child between clone() and
// execve() of the payload. It reports errors to the parent over the sync
// socket instead of printing them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/spec.hpp"
#include "linux/sync.hpp"

namespace kiln::handlers {
class Handler;
}

namespace kiln::linux_init {

// With --debug: sends msg over the sync socket for the parent to log. The
// child never writes the log itself: its fds soon are the container's.
void debug(int sync_fd, std::string_view msg);

struct InitArgs {
    const spec::Spec *spec = nullptr;
    handlers::Handler *handler = nullptr;  // payload handler; never null
    std::string id, bundle;  // for the hooks' state
    std::string rootfs;  // absolute
    int sync_fd = -1;
    int start_fd = -1;  // listening start socket (create), or -1: wait for Start on sync_fd (run)
    bool no_pivot = false;
    bool no_new_keyring = false;  // --no-new-keyring: keep the caller's session keyring
    unsigned preserve_fds = 0;
    int console_fd = -1;  // connected --console-socket when process.terminal
    std::optional<spec::ConsoleSize> console_size;  // kiln relays the terminal: the caller's size
    std::vector<std::string> cgroup_dirs;
    unsigned long clone_flags = 0;  // namespaces created by clone()
    bool new_cgroup_ns = false;     // unshared by the init once in its cgroup
    bool new_time_ns = false;       // unshared by the init, offsets written, then entered
    std::vector<int> idmapped;      // per mount: a ready id-mapped tree, a bind source (user ns), or -1
    int join_pid_ns_fd = -1;        // a shared pid namespace: joined for our children, see lifecycle.cpp
    // Joining a user namespace by path: the namespaces to make inside it,
    // unshared once joined (a new pid namespace: we fork its pid 1).
    unsigned long unshare_flags = 0;
    bool in_user_ns = false;     // new, joined, or the runtime's own: no mknod, setgroups may be denied
    bool rootless_euid = false;  // the runtime's euid is not 0 (runc's RootlessEUID)
    // Dumpable until kGo: an unprivileged runtime writes our /proc files
    // (see dumpable_until_go in lifecycle.cpp).
    bool dumpable_until_go = false;
};

[[noreturn]] void run(const InitArgs &args);

}  // namespace kiln::linux_init
