// The state store: <root>/<id>/state.json (kiln-private format, written
// atomically), the start socket (exec.sock) between create and start, and a per-container
// lock (flock on the directory) so concurrent commands on one id are safe.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "kiln/container.hpp"
#include "linux/resctrl.hpp"
#include "util/fd.hpp"

namespace kiln {

struct StoredState {
    std::string id;
    std::string ociVersion;
    std::string bundle;
    std::string rootfs;
    std::string created;
    pid_t pid = 0;
    unsigned long long start_time = 0;  // /proc/<pid>/stat field 22, guards against pid reuse
    bool own_pid_ns = true;
    bool has_process = true;  // false: created from a config without a process
    bool no_new_keyring = false;  // created with --no-new-keyring: `exec` joins no "_ses.<id>"
    std::map<std::string, std::string> annotations;
    std::vector<std::string> cgroup_dirs;
    std::string cgroup_unit;  // systemd unit (--systemd-cgroup), "" otherwise
    std::string hooks;  // spec::hooks_json of the config's hooks, "" when none
    resctrl::Group rdt;  // linux.intelRdt: the resource group, path "" when none
};

class StateDir {
public:
    // mkdir <root>/<id> and lock it; "container with given ID already exists".
    static StateDir create(const std::string &root, const std::string &id);
    // Opens and locks an existing one; "container does not exist".
    static StateDir open(const std::string &root, const std::string &id, bool lock = true);

    const std::string &path() const { return path_; }
    // The listening socket a created init waits on; its presence means "created".
    std::string start_socket_path() const { return path_ + "/" + kStartSocket; }
    static constexpr const char *kStartSocket = "exec.sock";
    // socket(), bind() and listen() on start_socket_path(), mode 0600.
    UniqueFd listen_start_socket() const;
    // `start`: connect to it; -1 with errno when nothing listens.
    int connect_start_socket() const;
    void save(const StoredState &s) const;
    // The config.json create validated, for `exec` (never the bundle's again).
    void save_config(std::string_view text) const;
    StoredState load() const;
    // Removes the directory and everything in it.
    void remove();
    // Drops the fd (and so the lock) without removing anything: the init
    // must not hold the lock while it waits for `start`.
    void close() { fd_.reset(); }

private:
    std::string path_;
    UniqueFd fd_;
};

// Throws when root (--root) is writable by users other than its owner, or
// owned by another user than us or root: they could swap a container's
// directory for their own, or forge the pid and cgroups kill/delete act on.
void check_root(const std::string &root);

// Reads state.json only; no lock. Throws "container does not exist".
// check_root: false when the caller has checked root already (list).
StoredState load_state(const std::string &root, const std::string &id, bool check_root = true);

// The text of a state.json as load_state reads it (also the fuzz entry point).
StoredState parse_state(const std::string &text, const std::string &file);

// created | running | paused | stopped, computed from the process and the start socket.
std::string status_of(const StoredState &s, const std::string &state_dir);

// Start time of a live (non-zombie) process; 0 when it is gone.
unsigned long long process_start_time(pid_t pid);

// RFC3339Nano UTC "2026-11-23T08:45:05.824214735Z".
std::string now_rfc3339nano();

}  // namespace kiln
