// kiln restore: a new container from CRIU images (runc 1.1.5's
// libcontainer Restore is the model), or, from a payload handler's snapshot
// image, a new container that resumes it (handlers::restore). Either way the result is an
// ordinary kiln container: state.json as create/run write it.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cgroups/cgroup.hpp"
#include "container/criu_common.hpp"
#include "linux/hooks.hpp"
#include "container/notify_socket.hpp"
#include "container/supervise.hpp"
#include "container/state.hpp"
#include "handlers/handler.hpp"
#include "kiln/checkpoint.hpp"
#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "kiln/log.hpp"
#include "linux/rootfs.hpp"
#include "linux/terminal.hpp"
#include "util/child.hpp"
#include "container/lifecycle.hpp"
#include "container/restore.hpp"
#include "util/fd.hpp"

namespace kiln {
namespace {

// CRIU wants a root that is a mount point whose parent is not overmounted:
// the rootfs bound (recursively) at <state dir>/criu-root for the restore.
class CriuRoot {
public:
    CriuRoot(const std::string &state_dir, const std::string &rootfs) : path_(state_dir + "/criu-root") {
        if (::mkdir(path_.c_str(), 0755) < 0) throw_errno("mkdir " + path_);
        made_ = true;
        if (::mount(rootfs.c_str(), path_.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
            throw_errno("bind " + rootfs + " for criu");
        mounted_ = true;
    }
    ~CriuRoot() {
        if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
        if (made_) ::rmdir(path_.c_str());
    }
    CriuRoot(const CriuRoot &) = delete;
    CriuRoot &operator=(const CriuRoot &) = delete;
    const std::string &path() const { return path_; }

private:
    std::string path_;
    bool made_ = false, mounted_ = false;
};

}  // namespace

bool under_tmpfs(const spec::Spec &spec, const std::string &dest) {
    for (auto &m : spec.mounts)
        if (m.type == "tmpfs" && dest.size() > m.destination.size() && dest.compare(0, m.destination.size(), m.destination) == 0 &&
            dest[m.destination.size()] == '/')
            return true;
    return false;
}

namespace {

// runc's prepareCriuRestoreMounts: the mount points CRIU will mount on must
// exist in the rootfs (not those inside a tmpfs, whose content CRIU
// restores). Bind mounts are mounted on the way so that mount points inside
// them can be made; all that happens in a private mount namespace of a
// child, so nothing of it shows on the host.
void prepare_mountpoints(const spec::Spec &spec, const std::string &rootfs, const std::string &bundle) {
    try {
        in_child([&] {
            if (::unshare(CLONE_NEWNS) < 0) throw_errno("unshare mount namespace");
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) throw_errno("make / private");
            UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!root) throw_errno("open " + rootfs);
            for (auto &m : spec.mounts) {
                if (m.type == "cgroup" || m.type == "cgroup2" || under_tmpfs(spec, m.destination)) continue;
                bool bind = m.type == "bind" || (rootfs::parse_options(m.options).flags & MS_BIND);
                std::string src = m.source.empty() || m.source[0] == '/' ? m.source : bundle + "/" + m.source;
                struct stat sb;
                bool file = bind && ::stat(src.c_str(), &sb) == 0 && !S_ISDIR(sb.st_mode);
                UniqueFd dst = rootfs::open_in_root(root.get(), m.destination, true, file);
                if (!bind) continue;
                std::string target = "/proc/self/fd/" + std::to_string(dst.get());
                if (::mount(src.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
                    throw_errno("bind " + src + " on " + m.destination);
            }
        });
    } catch (const Error &e) {
        throw Error("prepare restore mount points: " + std::string(e.what()));
    }
}

// A restore under way: its state dir, cgroup and (foreground) console.
// The destructor undoes everything unless commit() was called.
struct Restored {
    StateDir dir;
    StoredState st;
    std::unique_ptr<cgroups::Manager> cgroup;
    UniqueFd master;  // foreground with a terminal: the pty CRIU gave back
    bool committed = false;

    ~Restored() {
        if (committed) return;
        if (st.pid > 0) {
            ::kill(st.pid, SIGKILL);
            ::waitpid(st.pid, nullptr, 0);
        }
        try {
            if (cgroup) cgroup->destroy();
            dir.remove();
        } catch (const Error &e) {
            // The record stays: it names the cgroup for a later `delete -f`.
            log::warn(std::string(e.what()) + ": kept the state of " + st.id + " for `delete --force`");
        }
    }
};

}  // namespace

void check_options(const spec::Spec &spec, const RestoreOptions &o) {
    if (!spec.process) throw Error("process property must not be empty");
    if (!spec.root || spec.root->path.empty()) throw Error("config.json: root.path: must not be empty");
    bool tty = spec.process->terminal;
    if (tty && o.detach && o.console_socket.empty())
        throw Error("cannot allocate tty if kiln will detach without setting console socket");
    if (!tty && !o.console_socket.empty())
        throw Error("cannot use console socket if kiln will not detach or allocate tty");
}

namespace {

class CriuRestore {
public:
    CriuRestore(const Globals &g, const RestoreOptions &o)
        : g_(g), o_(o), bin_(criu::binary(g.criu)), L_(criu::lib(bin_)) {}

    // Restores the tree; r is filled in and saved.
    void run(Restored &r) {
        check_criu();
        spec_ = spec::load_config(o_.bundle);
        spec::absolute_destinations(spec_);
        spec::validate(spec_);
        check_options(spec_, o_);
        if (::chdir(o_.bundle.c_str()) < 0) throw_errno("chdir " + o_.bundle);
        image_.reset(criu::open_dir(o_.image_path, false));
        std::vector<std::string> fds = descriptors();
        fill_state(r.st);
        // As create does: the cgroup is on record before it is made, and as
        // made before anything joins it.
        auto cgroup = cgroups::make(cgroups::options_for(spec_, o_.id, g_.systemd_cgroup, g_.rootless));
        r.st.cgroup_planned = cgroup->dirs();
        r.dir = StateDir::create(g_.root, o_.id, r.st);
        r.cgroup = std::move(cgroup);  // only now ours to undo (the id may be taken)
        make_cgroup(r);
        r.dir.save(r.st);
        // As runc 1.1.5: with NOTIFY_SOCKET the new state dir's notify/ is
        // the restored /run/notify, but no socket is bound there (a READY=
        // the restored container sends reaches nobody); without it, images
        // of a container run with NOTIFY_SOCKET do not restore.
        if (!notify::host_socket().empty()) notify::setup_container(spec_, r.dir.path());
        CriuRoot root(r.dir.path(), r.st.rootfs);
        criu::Request req(L_, bin_);
        describe(req, r, root.path(), fds);
        int pid = perform(req, r);
        r.st.pid = pid;
        r.st.start_time = process_start_time(pid);
        r.st.created = now_rfc3339nano();
        r.dir.save(r.st);
    }

private:
    const Globals &g_;
    const RestoreOptions &o_;
    std::string bin_;
    const criu::Lib &L_;
    int version_ = 0;
    spec::Spec spec_;
    UniqueFd image_, work_;
    std::vector<UniqueFd> ns_fds_;

    void check_criu() {
        version_ = criu::version(L_, bin_);
        if (version_ < 30000) throw Error("CRIU version " + std::to_string(version_) + " must be 30000 or higher");
        if (!o_.lsm_profile.empty() && version_ < 31600) throw Error("--lsm-profile requires at least CRIU 3.16");
        if (!o_.lsm_mount_context.empty() && version_ < 31600)
            throw Error("--lsm-mount-context requires at least CRIU 3.16");
    }

    // Everything CRIU is told before it starts: options, mount points and
    // external mounts, the stdio pipes to inherit, namespaces to join.
    void describe(criu::Request &req, Restored &r, const std::string &root, const std::vector<std::string> &fds) {
        options(req, root, r.dir.path());
        prepare_mountpoints(spec_, r.st.rootfs, o_.bundle);
        mounts(req, r.cgroup->dirs());
        for (size_t i = 0; i < fds.size(); i++)
            if (fds[i].find("pipe:") != std::string::npos)
                criu::Request::check(L_.add_inherit_fd(req.get(), static_cast<int>(i), fds[i].c_str()), "inherit fd");
        namespaces(req);
        req.on_notify([this, &r](const std::string &action, int pid) { return notify(r, action, pid); });
    }

    // criu swrk into the new cgroups first (runc's criuApplyCgroups), then
    // the RESTORE request. The restored init's pid.
    int perform(criu::Request &req, Restored &r) {
        std::vector<int> keep;
        for (auto &fd : ns_fds_) keep.push_back(fd.get());
        pid_t criu_pid = req.spawn(keep);
        r.cgroup->join(criu_pid);
        cgroup_roots(req, criu_pid);
        int pid = L_.restore(req.get());
        int err = errno;
        req.wait();
        if (pid <= 0) criu::failed("RESTORE", err, o_.work_path.empty() ? o_.image_path : o_.work_path, "restore.log");
        return pid;
    }

    std::vector<std::string> descriptors() {
        std::string file = o_.image_path + "/descriptors.json";
        auto doc = json::Doc::parse(read_file(file), file);
        std::vector<std::string> fds;
        doc.get_string_array({}, fds);
        return fds;
    }

    void fill_state(StoredState &st) {
        st.id = o_.id;
        st.ociVersion = spec_.ociVersion;
        st.bundle = o_.bundle;
        st.rootfs = spec_.root->path[0] == '/' ? spec_.root->path : o_.bundle + "/" + spec_.root->path;
        st.annotations = spec_.annotations;
        st.own_pid_ns = has_own_pid_ns(spec_);
        if (spec_.hooks) st.hooks = spec::hooks_json(*spec_.hooks);
    }

    void make_cgroup(Restored &r) {
        r.cgroup->create(spec_.linux && spec_.linux->resources ? &*spec_.linux->resources : nullptr);
        r.st.cgroup = r.cgroup->record();
        r.st.cgroup_planned.clear();
    }

    void options(criu::Request &req, const std::string &root, const std::string &state_dir) {
        criu::criu_opts *op = req.get();
        L_.set_images_dir_fd(op, image_.get());
        L_.set_evasive_devices(op, true);
        L_.set_log_level(op, 4);
        criu::Request::check(L_.set_log_file(op, "restore.log"), "log file");
        criu::Request::check(L_.set_root(op, root.c_str()), "root");
        L_.set_manage_cgroups(op, true);
        L_.set_shell_job(op, o_.shell_job);
        L_.set_ext_unix_sk(op, o_.ext_unix_sk);
        L_.set_tcp_established(op, o_.tcp_established);
        L_.set_file_locks(op, o_.file_locks);
        L_.set_empty_ns(op, criu::empty_ns_mask(o_.empty_ns));
        L_.set_orphan_pts_master(op, true);
        L_.set_auto_dedup(op, o_.auto_dedup);
        if (!o_.lsm_profile.empty()) criu::Request::check(L_.set_lsm_profile(op, o_.lsm_profile.c_str()), "lsm profile");
        if (!o_.lsm_mount_context.empty())
            criu::Request::check(L_.set_lsm_mount_context(op, o_.lsm_mount_context.c_str()), "lsm mount context");
        if (!o_.work_path.empty()) {
            work_.reset(criu::open_dir(o_.work_path, true));
            L_.set_work_dir_fd(op, work_.get());
        }
        // restore-sibling (RPC's rst_sibling, which libcriu sets only when
        // it forks criu itself): the restored init becomes our child, as
        // runc's does, instead of criu's.
        std::vector<std::string> lines{"restore-sibling"};
        if (o_.lazy_pages) lines.push_back("lazy-pages");
        std::string file = criu::merged_config(state_dir, lines, criu::config_file(spec_.annotations));
        criu::Request::check(L_.set_config_file(op, file.c_str()), "config file");
        if (int mode = criu::cgroups_mode(o_.manage_cgroups_mode); mode >= 0) L_.set_manage_cgroups_mode(op, mode);
    }

    void mounts(criu::Request &req, const std::vector<std::string> &cgroup_dirs) {
        std::string rootfs = spec_.root->path[0] == '/' ? spec_.root->path : o_.bundle + "/" + spec_.root->path;
        for (auto &m : criu::external_mounts(spec_, rootfs, o_.bundle, cgroup_dirs, true))
            criu::Request::check(L_.add_ext_mount(req.get(), m.key.c_str(), m.val.c_str()), "external mount");
        if (spec_.linux && !spec_.linux->maskedPaths.empty())
            criu::Request::check(L_.add_ext_mount(req.get(), "/dev/null", "/dev/null"), "external mount");
        for (auto &d : criu::device_paths(spec_))
            criu::Request::check(L_.add_ext_mount(req.get(), d.c_str(), d.c_str()), "external mount");
    }

    // Namespaces given by path: network and pid were dumped as external
    // (CRIU gets the namespace as an inherited fd), the others are joined.
    void namespaces(criu::Request &req) {
        if (!spec_.linux) return;
        for (auto &n : spec_.linux->namespaces) {
            if (n.path.empty()) continue;
            if (n.type == "network" || n.type == "pid") {
                if (version_ < (n.type == "network" ? 31100 : 31500)) continue;
                UniqueFd fd(::open(n.path.c_str(), O_RDONLY | O_CLOEXEC));
                if (!fd) throw Error("Requested " + n.type + " namespace " + n.path + " does not exist");
                std::string key = n.type == "network" ? "extRootNetNS" : "extRootPidNS";
                criu::Request::check(L_.add_inherit_fd(req.get(), fd.get(), key.c_str()), "inherit fd");
                ns_fds_.push_back(std::move(fd));
                continue;
            }
            if (n.type == "cgroup") throw Error("Do not know how to handle namespace cgroup");
            criu::Request::check(L_.join_ns_add(req.get(), criu::ns_name(n.type).c_str(), n.path.c_str(), nullptr),
                                 "join namespace");
        }
    }

    // criu was put into the new cgroups: their paths become the roots the
    // dumped cgroups are restored under (runc's criuApplyCgroups, v1). The
    // v2 path (the "0::" line) is CRIU's global root, so that on a pure v2
    // host too the tree lands in the new container's cgroup (runc 1.1.5
    // leaves it in the dumped container's path there).
    void cgroup_roots(criu::Request &req, pid_t criu_pid) {
        std::string text;
        if (!try_read_file("/proc/" + std::to_string(criu_pid) + "/cgroup", text)) return;
        for (auto &[ctrl, path] : cgroups::parse_proc_cgroup(text))
            criu::Request::check(L_.add_cg_root(req.get(), ctrl.empty() ? nullptr : ctrl.c_str(), path.c_str()),
                                 "cgroup root");
    }

    int notify(Restored &r, const std::string &action, int pid) {
        if (action == "setup-namespaces" && spec_.hooks) {
            std::string state = spec::hook_state_json(r.st.ociVersion, r.st.id, "creating", pid, r.st.bundle, r.st.annotations);
            hooks::run(spec_.hooks->prestart, "prestart", state, r.st.bundle);
            hooks::run(spec_.hooks->createRuntime, "createRuntime", state, r.st.bundle);
        } else if (action == "orphan-pts-master") {
            UniqueFd master(L_.get_orphan_pts_master_fd());
            if (!master) throw Error("criu sent no pty master");
            if (!o_.console_socket.empty()) {
                UniqueFd sock(terminal::connect_socket(o_.console_socket));
                terminal::send_fd(sock.get(), master.get());
            } else {
                r.master = std::move(master);
            }
        }
        return 0;
    }
};

int finish(const Globals &g, const RestoreOptions &o, Restored &r) {
    write_pid_file(o.pid_file, r.st.pid);
    r.committed = true;
    if (o.detach) return 0;
    std::string id = r.st.id;
    pid_t pid = r.st.pid;
    r.dir.close();
    int status = 0;
    try {
        status = supervise(pid, r.master.get());
    } catch (...) {
        remove(g, id, true);
        throw;
    }
    remove(g, id, true);
    return status;
}

}  // namespace

int restore(const Globals &g, const RestoreOptions &o) {
    validate_id(o.id);
    mkdir_all(o.image_path, 0700);
    if (int status = 0; handlers::restore(g, o, status)) return status;  // a handler's snapshot image
    // Foreground: signals are blocked from before criu forks the tree (the
    // restored init is our child, see restore-sibling), as for run.
    sigset_t all;
    sigfillset(&all);
    if (!o.detach) ::sigprocmask(SIG_BLOCK, &all, nullptr);
    if (!o.detach && !o.no_subreaper) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    Restored r;
    CriuRestore(g, o).run(r);
    return finish(g, o, r);
}

}  // namespace kiln
