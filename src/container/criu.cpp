#include "container/criu.hpp"

#include <dlfcn.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "kiln/error.hpp"
#include "util/child.hpp"
#include "util/exe.hpp"
#include "util/fd.hpp"

namespace kiln::criu {
namespace {

[[noreturn]] void unavailable(const std::string &why) {
    throw Error("criu is not available: " + why +
                " (kiln needs a criu binary and its libcriu.so.2 for checkpoint/restore; "
                "tests/criu/build.sh builds both)");
}

std::string parent_dir(const std::string &p) {
    auto slash = p.find_last_of('/');
    return slash == std::string::npos || slash == 0 ? std::string("/") : p.substr(0, slash);
}

// The one callback libcriu calls (it passes no user data): the request
// being run sets it for the length of its call.
thread_local std::function<int(const std::string &, int)> *g_notify = nullptr;
thread_local const Lib *g_notify_lib = nullptr;

int notify_trampoline(char *action, void *arg) {
    if (!g_notify || !*g_notify) return 0;
    int pid = g_notify_lib && g_notify_lib->notify_pid ? g_notify_lib->notify_pid(arg) : 0;
    try {
        return (*g_notify)(action ? action : "", pid);
    } catch (const std::exception &e) {
        ::dprintf(2, "kiln: criu notification %s: %s\n", action ? action : "", e.what());
        return -1;
    }
}

template <class F>
void load(void *h, F &fn, const char *name, std::string &missing) {
    fn = reinterpret_cast<F>(::dlsym(h, name));
    if (!fn) missing += std::string(missing.empty() ? "" : ", ") + name;
}

Lib load_lib(void *h) {
    Lib l{};
    std::string miss;
    load(h, l.init_opts, "criu_local_init_opts", miss);
    load(h, l.free_opts, "criu_local_free_opts", miss);
    load(h, l.set_service_fd, "criu_local_set_service_fd", miss);
    load(h, l.set_pid, "criu_local_set_pid", miss);
    load(h, l.set_images_dir_fd, "criu_local_set_images_dir_fd", miss);
    load(h, l.set_work_dir_fd, "criu_local_set_work_dir_fd", miss);
    load(h, l.set_parent_images, "criu_local_set_parent_images", miss);
    load(h, l.set_leave_running, "criu_local_set_leave_running", miss);
    load(h, l.set_ext_unix_sk, "criu_local_set_ext_unix_sk", miss);
    load(h, l.set_tcp_established, "criu_local_set_tcp_established", miss);
    load(h, l.set_tcp_skip_in_flight, "criu_local_set_tcp_skip_in_flight", miss);
    load(h, l.set_evasive_devices, "criu_local_set_evasive_devices", miss);
    load(h, l.set_shell_job, "criu_local_set_shell_job", miss);
    load(h, l.set_orphan_pts_master, "criu_local_set_orphan_pts_master", miss);
    load(h, l.set_file_locks, "criu_local_set_file_locks", miss);
    load(h, l.set_track_mem, "criu_local_set_track_mem", miss);
    load(h, l.set_auto_dedup, "criu_local_set_auto_dedup", miss);
    load(h, l.set_link_remap, "criu_local_set_link_remap", miss);
    load(h, l.set_log_level, "criu_local_set_log_level", miss);
    load(h, l.set_log_file, "criu_local_set_log_file", miss);
    load(h, l.set_root, "criu_local_set_root", miss);
    load(h, l.set_manage_cgroups, "criu_local_set_manage_cgroups", miss);
    load(h, l.set_manage_cgroups_mode, "criu_local_set_manage_cgroups_mode", miss);
    load(h, l.set_freeze_cgroup, "criu_local_set_freeze_cgroup", miss);
    load(h, l.set_lsm_profile, "criu_local_set_lsm_profile", miss);
    load(h, l.set_lsm_mount_context, "criu_local_set_lsm_mount_context", miss);
    load(h, l.add_ext_mount, "criu_local_add_ext_mount", miss);
    load(h, l.add_cg_root, "criu_local_add_cg_root", miss);
    load(h, l.add_inherit_fd, "criu_local_add_inherit_fd", miss);
    load(h, l.add_external, "criu_local_add_external", miss);
    load(h, l.set_page_server_address_port, "criu_local_set_page_server_address_port", miss);
    load(h, l.join_ns_add, "criu_local_join_ns_add", miss);
    load(h, l.set_config_file, "criu_local_set_config_file", miss);
    load(h, l.set_empty_ns, "criu_local_set_empty_ns", miss);
    load(h, l.set_notify_cb, "criu_local_set_notify_cb", miss);
    load(h, l.notify_pid, "criu_notify_pid", miss);
    load(h, l.get_orphan_pts_master_fd, "criu_get_orphan_pts_master_fd", miss);
    load(h, l.dump, "criu_local_dump", miss);
    load(h, l.pre_dump, "criu_local_pre_dump", miss);
    load(h, l.restore, "criu_local_restore", miss);
    load(h, l.get_version, "criu_local_get_version", miss);
    load(h, l.feature_check, "criu_local_feature_check", miss);
    if (!miss.empty()) unavailable("libcriu lacks " + miss + " (too old; CRIU >= 3.16 is needed)");
    return l;
}

// struct criu_feature_check of criu.h.
struct FeatureCheck {
    bool mem_track, lazy_pages, pidfd_store;
};

}  // namespace

std::string binary(const std::string &flag) {
    if (!flag.empty() && flag != "criu") {
        if (flag.find('/') != std::string::npos) {
            if (!executable(flag)) unavailable("--criu " + flag + " is not an executable file");
            return flag;
        }
    }
    std::string name = flag.empty() ? "criu" : flag;
    const char *path = std::getenv("PATH");
    std::string found = find_executable(name, std::string(path ? path : "") + ":/usr/sbin:/usr/local/sbin:/sbin");
    if (!found.empty()) return found;
    unavailable("no " + name + " binary in PATH");
}

const Lib &lib(const std::string &criu_binary) {
    static Lib loaded{};
    static bool done = false;
    if (done) return loaded;
    std::string prefix = parent_dir(parent_dir(criu_binary));
    std::string tried;
    void *h = nullptr;
    for (std::string cand : {prefix + "/lib/libcriu.so.2", prefix + "/lib64/libcriu.so.2",
                             prefix + "/lib/x86_64-linux-gnu/libcriu.so.2", std::string("libcriu.so.2")}) {
        if (cand[0] == '/' && ::access(cand.c_str(), F_OK) != 0) continue;
        h = ::dlopen(cand.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (h) break;
        const char *e = ::dlerror();
        tried += std::string(tried.empty() ? "" : "; ") + (e ? e : cand);
    }
    if (!h) unavailable("cannot load libcriu.so.2 (" + (tried.empty() ? std::string("not found") : tried) + ")");
    loaded = load_lib(h);
    done = true;
    return loaded;
}

Request::Request(const Lib &l, const std::string &criu_binary) : lib_(l), binary_(criu_binary) {
    if (lib_.init_opts(&opts_) < 0 || !opts_) throw Error("criu: cannot initialise libcriu options");
}

Request::~Request() {
    if (g_notify_lib == &lib_) g_notify = nullptr;
    if (opts_) lib_.free_opts(opts_);
    if (pid_ > 0) {
        // A criu that is still there (an error before or during the request)
        // must not outlive us: it would hold the container frozen.
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

pid_t Request::spawn(const std::vector<int> &keep_fds) {
    int sv[2];
    if (::socketpair(AF_LOCAL, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair for criu");
    UniqueFd ours(sv[0]), theirs(sv[1]);
    std::string fdarg = std::to_string(theirs.get());
    pid_t pid = child::fork("fork criu");
    if (pid == 0) {
        child::run(-1, [&] {
            // criu needs SIGCHLD (restore catches its tasks' failures with it).
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            ::fcntl(theirs.get(), F_SETFD, 0);
            for (int fd : keep_fds) ::fcntl(fd, F_SETFD, 0);
            ::execl(binary_.c_str(), binary_.c_str(), "swrk", fdarg.c_str(), static_cast<char *>(nullptr));
            ::dprintf(2, "kiln: exec %s: %s\n", binary_.c_str(), std::strerror(errno));
            ::_exit(127);
        });
    }
    pid_ = pid;
    // libcriu closes the service fd when the request is done.
    lib_.set_service_fd(opts_, ours.release());
    return pid;
}

int Request::wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0)
        if (errno != EINTR) break;
    pid_ = -1;
    return status;
}

void Request::check(int rc, const char *what) {
    if (rc < 0) throw Error(std::string("criu: ") + what + " failed");
}

void Request::on_notify(std::function<int(const std::string &, int)> cb) {
    static thread_local std::function<int(const std::string &, int)> holder;
    holder = std::move(cb);
    g_notify = &holder;
    g_notify_lib = &lib_;
    lib_.set_notify_cb(opts_, notify_trampoline);
}

int version(const Lib &l, const std::string &criu_binary) {
    Request r(l, criu_binary);
    r.spawn();
    int v = l.get_version(r.get());
    r.wait();
    return v;
}

bool has_feature(const Lib &l, const std::string &criu_binary, bool mem_track, bool lazy_pages) {
    Request r(l, criu_binary);
    r.spawn();
    FeatureCheck f{mem_track, lazy_pages, false};
    int rc = l.feature_check(r.get(), &f, sizeof f);
    r.wait();
    if (rc < 0) return false;
    return (!mem_track || f.mem_track) && (!lazy_pages || f.lazy_pages);
}

bool usable(const std::string &flag, int *version_out) {
    try {
        std::string bin = binary(flag);
        int v = version(lib(bin), bin);
        if (version_out) *version_out = v;
        return v > 0;
    } catch (const Error &) {
        return false;
    }
}

}  // namespace kiln::criu
