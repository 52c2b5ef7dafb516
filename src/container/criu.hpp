// CRIU through libcriu, loaded with dlopen() by `checkpoint`, `restore` and
// `features` only: kiln neither links nor needs CRIU to build or run, and
// its other commands never touch it. The criu binary is spawned by kiln
// itself as `criu swrk FD` (libcriu then talks RPC over FD), so that kiln
// knows its pid before the request: restore puts it into the container's
// cgroups first, as runc does.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace kiln::criu {

struct criu_opts;  // libcriu's, opaque

// libcriu's functions used here (criu.h of CRIU >= 3.16 has them all). The
// prototypes are written out so that kiln builds without CRIU's headers.
struct Lib {
    int (*init_opts)(criu_opts **);
    void (*free_opts)(criu_opts *);
    void (*set_service_fd)(criu_opts *, int);
    void (*set_pid)(criu_opts *, int);
    void (*set_images_dir_fd)(criu_opts *, int);
    void (*set_work_dir_fd)(criu_opts *, int);
    int (*set_parent_images)(criu_opts *, const char *);
    void (*set_leave_running)(criu_opts *, bool);
    void (*set_ext_unix_sk)(criu_opts *, bool);
    void (*set_tcp_established)(criu_opts *, bool);
    void (*set_tcp_skip_in_flight)(criu_opts *, bool);
    void (*set_evasive_devices)(criu_opts *, bool);
    void (*set_shell_job)(criu_opts *, bool);
    void (*set_orphan_pts_master)(criu_opts *, bool);
    void (*set_file_locks)(criu_opts *, bool);
    void (*set_track_mem)(criu_opts *, bool);
    void (*set_auto_dedup)(criu_opts *, bool);
    void (*set_link_remap)(criu_opts *, bool);
    void (*set_log_level)(criu_opts *, int);
    int (*set_log_file)(criu_opts *, const char *);
    int (*set_root)(criu_opts *, const char *);
    void (*set_manage_cgroups)(criu_opts *, bool);
    void (*set_manage_cgroups_mode)(criu_opts *, int);
    int (*set_freeze_cgroup)(criu_opts *, const char *);
    int (*set_lsm_profile)(criu_opts *, const char *);
    int (*set_lsm_mount_context)(criu_opts *, const char *);
    int (*add_ext_mount)(criu_opts *, const char *, const char *);
    int (*add_cg_root)(criu_opts *, const char *, const char *);
    int (*add_inherit_fd)(criu_opts *, int, const char *);
    int (*add_external)(criu_opts *, const char *);
    int (*set_page_server_address_port)(criu_opts *, const char *, int);
    int (*join_ns_add)(criu_opts *, const char *, const char *, const char *);
    int (*set_config_file)(criu_opts *, const char *);
    void (*set_empty_ns)(criu_opts *, int);
    void (*set_notify_cb)(criu_opts *, int (*)(char *, void *));
    int (*notify_pid)(void *);
    int (*get_orphan_pts_master_fd)();
    int (*dump)(criu_opts *);
    int (*pre_dump)(criu_opts *);
    int (*restore)(criu_opts *);
    int (*get_version)(criu_opts *);
    int (*feature_check)(criu_opts *, void *, size_t);
};

// rpc.proto's criu_cg_mode.
enum CgMode { kCgIgnore = 0, kCgSoft = 3, kCgFull = 4, kCgStrict = 5 };

// The criu binary: --criu when given, else `criu` in PATH (then /usr/sbin,
// /usr/local/sbin, /sbin). Throws Error("criu is not available: ...").
std::string binary(const std::string &flag);

// libcriu: beside the binary (<prefix>/lib/libcriu.so.2, as tests/criu/build.sh
// installs it), else the system's libcriu.so.2. Loaded once; throws
// Error("criu is not available: ...") naming what is missing.
const Lib &lib(const std::string &criu_binary);

// One request's options (criu_local_init_opts .. free_opts), with the
// service fd of a `criu swrk` kiln started. Setters that fail throw.
class Request {
public:
    Request(const Lib &l, const std::string &criu_binary);
    ~Request();
    Request(const Request &) = delete;
    Request &operator=(const Request &) = delete;

    criu_opts *get() const { return opts_; }
    const Lib &lib() const { return lib_; }
    // Starts `criu swrk` (stdio inherited, keep_fds passed as they are),
    // hands its socket to libcriu; returns criu's pid.
    pid_t spawn(const std::vector<int> &keep_fds = {});
    pid_t criu_pid() const { return pid_; }
    // Waits for the spawned criu; its exit status (-1 when none was started).
    int wait();
    // Throws Error("criu: <what> failed") when rc < 0.
    static void check(int rc, const char *what);
    // Notifications ("post-dump", "setup-namespaces", "orphan-pts-master",
    // "status-ready", ...): pid of the root task (0 when not given).
    void on_notify(std::function<int(const std::string &, int pid)> cb);

private:
    const Lib &lib_;
    std::string binary_;
    criu_opts *opts_ = nullptr;
    pid_t pid_ = -1;
};

// CRIU's version as major*10000+minor*100+sub (e.g. 40201), through the
// VERSION RPC of a spawned criu.
int version(const Lib &l, const std::string &criu_binary);

// A feature check (MemTrack, LazyPages) through a spawned criu: true when present.
bool has_feature(const Lib &l, const std::string &criu_binary, bool mem_track, bool lazy_pages);

// For `features`: libcriu and a criu binary that answers VERSION are both here.
bool usable(const std::string &flag, int *version_out = nullptr);

}  // namespace kiln::criu
