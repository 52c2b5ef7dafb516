// The container library: lifecycle operations the CLI commands call.
// Every function throws kiln::Error with a runc-worded message on failure.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/spec.hpp"

namespace kiln::cgroups {
class OomWatch;
}

namespace kiln {

// Global options (flags before the command name).
struct Globals {
    std::string root = "/run/kiln";  // state directory, absolute
    bool debug = false;
    bool systemd_cgroup = false;
    std::string rootless = "auto";  // true|false|auto
    // Payload handler (src/handlers): a name or mode the handlers' own
    // global flags and argv[0] aliases set ("km", "km-label"); "" leaves
    // it to the handlers' triggers (annotations, config files).
    std::string handler;
    std::string criu;  // --criu: the criu binary of checkpoint/restore; "" = criu in PATH
    // The handlers' settings from their global flags (flag name -> value),
    // see handlers::GlobalFlag; read only by the handler that owns them.
    std::map<std::string, std::string> handler_options;
};

struct CreateOptions {
    std::string id;
    std::string bundle;          // absolute; default: cwd
    std::string console_socket;  // "" = none
    std::string pidfd_socket;    // "" = none
    std::string pid_file;        // absolute ("" = none)
    bool no_pivot = false;
    bool no_new_keyring = false;
    unsigned preserve_fds = 0;
};

struct RunOptions : CreateOptions {
    bool detach = false;
    bool keep = false;
    bool no_subreaper = false;
};

// What `state` and `list` report; status is computed on every call.
struct ContainerState {
    std::string ociVersion;
    std::string id;
    int pid = 0;  // 0 when stopped
    std::string status;  // created running paused stopped
    std::string bundle;
    std::string rootfs;
    std::string created;  // RFC3339Nano UTC
    std::map<std::string, std::string> annotations;
    std::string owner;  // user owning the state dir (list only)
};

// Throws Error("invalid container ID format") / ("container id cannot be empty").
void validate_id(const std::string &id);

// "9", "KILL", "sigkill", "SIGKILL" -> 9; throws Error("unknown signal \"X\"").
int parse_signal(const std::string &s);

void create(const Globals &g, const CreateOptions &o);
void start(const Globals &g, const std::string &id);
// Foreground: returns the container's exit status (128+signal when killed).
// Detached: returns 0 once started.
int run(const Globals &g, const RunOptions &o);
void kill(const Globals &g, const std::string &id, int signal, bool all);
void remove(const Globals &g, const std::string &id, bool force);  // `delete`
ContainerState state(const Globals &g, const std::string &id);
// Containers under g.root; entries that fail to load are reported on stderr
// ("load container X: ...") and skipped. owner is filled in.
std::vector<ContainerState> list(const Globals &g);

}  // namespace kiln

namespace kiln {

struct ExecOptions {
    std::string id;
    std::vector<std::string> args;  // command and its arguments (unless process_file)
    std::string process_file;       // --process: a runtime-spec process object; other flags then ignored
    std::string cwd;
    std::vector<std::string> env;
    std::string user;  // uid[:gid]
    std::vector<std::string> additional_gids;
    std::vector<std::string> caps;
    bool tty = false;
    bool detach = false;
    bool no_new_privs = false;
    bool ignore_paused = false;
    std::string pid_file;  // absolute
    std::string console_socket;  // absolute; receives the pty master when tty
    std::string pidfd_socket;  // absolute; receives a pidfd of the process
    std::string apparmor, process_label;  // LSM labels for the process
    std::vector<std::string> cgroups;  // --cgroup [CTRL[,CTRL]:]PATH: a sub-cgroup of the container's
    unsigned preserve_fds = 0;
};

// Runs a process in a running (or created) container. Foreground: returns its
// exit status (128+signal when killed); detached: 0 once it runs. Throws
// Error when the process cannot be started (the CLI exits 255).
int exec(const Globals &g, const ExecOptions &o);

}  // namespace kiln

namespace kiln {

// Freezes / thaws every process of the container (v1 freezer, v2 cgroup.freeze).
void pause(const Globals &g, const std::string &id);
void resume(const Globals &g, const std::string &id);
// Writes new resource limits to the container's cgroups (devices are not
// touched, as in runc).
void update(const Globals &g, const std::string &id, const spec::Resources &r);
// update --l3-cache-schema / --mem-bw-schema: the container's resctrl group
// (only one made at create from linux.intelRdt, as runc).
void update_rdt(const Globals &g, const std::string &id, const std::string &l3_cache_schema,
                const std::string &mem_bw_schema);
// One runc stats event: {"type":"stats","id":ID,"data":{...}}. Throws
// "container with id ID is not running" when stopped.
std::string stats_event(const Globals &g, const std::string &id);
// The OOM kill count of the container's cgroup, watched (events reports
// increases, as they happen; see cgroups::OomWatch).
std::unique_ptr<cgroups::OomWatch> watch_oom(const Globals &g, const std::string &id);
// Host pids of the container's processes.
std::vector<int> pids(const Globals &g, const std::string &id);

}  // namespace kiln
