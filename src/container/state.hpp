// The state store: <root>/<id>/state.json (kiln-private format, written
// atomically), the start socket (exec.sock) between create and start, and a per-container
// lock (flock on the directory) so concurrent commands on one id are safe.
// Also the names it keeps (validate_id) and runc's pid file. What a status
// is and what can be done to a container: container.hpp.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "cgroups/cgroup.hpp"
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
    // The driver, the hierarchies and the container's dir in each.
    cgroups::Record cgroup;
    std::string cgroup_deferred;  // see load_state_at(defer_cgroup); never saved
    // The dirs a create is about to make, recorded before it makes them: a
    // create killed there leaves them for `delete`, which removes the empty
    // ones only (they may be a pre-existing cgroup that is not ours).
    std::vector<std::string> cgroup_planned;
    std::string hooks;  // spec::hooks_json of the config's hooks, "" when none
    resctrl::Group rdt;  // linux.intelRdt: the resource group, path "" when none
};

// "container does not exist" carries ENOENT as its code().
class StateDir {
public:
    // Makes <root>/<id>, locked, with `first` as its state.json: the dir is
    // made and locked under a temporary name and renamed into place, so no
    // other command ever sees it unlocked or without a state.json.
    // "container with given ID already exists".
    static StateDir create(const std::string &root, const std::string &id, const StoredState &first);
    // Opens and locks an existing one; "container does not exist".
    static StateDir open(const std::string &root, const std::string &id, bool lock = true);
    // Removes what creates killed before the rename left in root (temporary
    // dirs whose maker is gone).
    static void sweep(const std::string &root);

    const std::string &path() const { return path_; }
    int fd() const { return fd_.get(); }
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
    // Reads state.json through the locked dir (one removed while we waited
    // for the lock reads as "container does not exist").
    StoredState load() const;
    // Removes the directory and everything in it; false (errno set) when
    // the directory is still there.
    bool remove();
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

// The same for the state directory dir relative to dirfd (list: the root's
// fd); shown: its path in error messages.
// defer_cgroup (list): the "cgroup" member is kept unparsed in
// cgroup_deferred (st.cgroup stays empty); deferred_cgroup() parses it.
StoredState load_state_at(int dirfd, const std::string &dir, const std::string &shown, bool defer_cgroup = false);
cgroups::Record deferred_cgroup(const StoredState &s, const std::string &shown);

// The text of a state.json as load_state reads it (also the fuzz entry point).
StoredState parse_state(const std::string &text, const std::string &file);

// The init still runs (not a zombie, not a reused pid): status != stopped.
bool alive(const StoredState &s);

// Start time of a live (non-zombie) process; 0 when it is gone.
unsigned long long process_start_time(pid_t pid);

// The runtime-spec state JSON hooks (and a seccomp agent) get on stdin.
std::string hook_state(const StoredState &st, const char *status, int pid);

// runc's pid file: ".<name>" beside it (O_EXCL), decimal pid, no newline,
// renamed over the target; a relative path is relative to the cwd. No-op
// for an empty path.
void write_pid_file(const std::string &path, pid_t pid);

// RFC3339Nano UTC "2026-11-23T08:45:05.824214735Z", of now and of ts.
std::string now_rfc3339nano();
std::string rfc3339nano(const struct timespec &ts);

}  // namespace kiln
