// kiln checkpoint: CRIU's dump of the container's process tree (runc
// 1.1.5's libcontainer Checkpoint is the model), or a payload handler's own
// snapshot where the container's handler takes it (handlers::checkpoint).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cgroups/fs.hpp"
#include "container/criu_common.hpp"
#include "linux/hooks.hpp"
#include "container/container.hpp"
#include "container/notify_socket.hpp"
#include "container/state.hpp"
#include "handlers/handler.hpp"
#include "container/checkpoint.hpp"
#include "kiln/checkpoint.hpp"
#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "util/fd.hpp"

namespace kiln {

void check_parent_path(const CheckpointOptions &o) {
    if (o.parent_path.empty()) return;
    if (o.parent_path[0] == '/') throw Error("--parent-path must be relative");
    std::string real = o.image_path + "/" + o.parent_path;
    struct stat sb;
    if (::stat(real.c_str(), &sb) < 0) throw Error("invalid --parent-path: " + errno_message("stat " + real, errno));
    if (!S_ISDIR(sb.st_mode)) throw Error("invalid --parent-path: " + errno_message("stat " + real, ENOTDIR));
}

// runc: "Use --page-server ADDRESS:PORT", "Invalid port number".
void split_page_server(const std::string &s, std::string &addr, int &port) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
        throw Error("Use --page-server ADDRESS:PORT to specify page server");
    addr = s.substr(0, colon);
    if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
    char *end = nullptr;
    long p = std::strtol(s.c_str() + colon + 1, &end, 10);
    if (*end || p <= 0 || p > 65535) throw Error("Invalid port number");
    port = static_cast<int>(p);
}

void check_status_fd(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) throw Error("invalid --status-fd argument " + std::to_string(fd) + ": " + std::strerror(errno));
    if ((flags & O_ACCMODE) == O_RDONLY) throw Error("invalid --status-fd argument " + std::to_string(fd) + ": not writable");
}

// What the container's stdio were, for restore's inherit-fd of pipes
// (runc's descriptors.json).
void write_descriptors(const std::string &image, pid_t pid) {
    json::Writer w;
    w.begin_array();
    for (int i = 0; i < 3; i++) {
        char buf[4096];
        std::string p = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(i);
        ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
        w.string(n > 0 ? std::string_view(buf, static_cast<size_t>(n)) : std::string_view());
    }
    w.end_array();
    write_file_atomic(image + "/descriptors.json", w.str(), 0600);
}

namespace {

using criu_opts_ptr = criu::criu_opts *;

class Dump {
public:
    Dump(const Globals &g, const StoredState &st, const CheckpointOptions &o)
        : g_(g), st_(st), o_(o), bin_(criu::binary(g.criu)), L_(criu::lib(bin_)) {}

    void run() {
        int v = criu::version(L_, bin_);
        if (v < 30000) throw Error("CRIU version " + std::to_string(v) + " must be 30000 or higher");
        if (o_.pre_dump && !criu::has_feature(L_, bin_, true, false))
            throw Error("CRIU is missing features: memory tracking, which --pre-dump needs (this kernel has no "
                        "soft-dirty page tracking, CONFIG_MEM_SOFT_DIRTY)");
        if (o_.lazy_pages && !criu::has_feature(L_, bin_, false, true))
            throw Error("CRIU is missing features: lazy pages (userfaultfd), which --lazy-pages needs");
        if (o_.lazy_pages && o_.status_fd != -1) check_status_fd(o_.status_fd);
        spec_ = spec::load_config(st_.bundle);
        image_.reset(criu::open_dir(o_.image_path, true));
        criu::Request r(L_, bin_);
        options(r);
        if (!o_.pre_dump) {
            mounts(r);
            write_descriptors(o_.image_path, st_.pid);
        }
        r.on_notify([this](const std::string &action, int) { return notify(action); });
        r.spawn();
        int rc = o_.pre_dump ? L_.pre_dump(r.get()) : L_.dump(r.get());
        int err = errno;
        r.wait();
        if (rc < 0)
            criu::failed(o_.pre_dump ? "PRE_DUMP" : "DUMP", err, o_.work_path.empty() ? o_.image_path : o_.work_path,
                         "dump.log");
    }

private:
    const Globals &g_;
    const StoredState &st_;
    const CheckpointOptions &o_;
    std::string bin_;
    const criu::Lib &L_;
    spec::Spec spec_;
    UniqueFd image_, work_;

    void options(criu::Request &r) {
        criu_opts_ptr op = r.get();
        L_.set_images_dir_fd(op, image_.get());
        L_.set_log_level(op, 4);
        criu::Request::check(L_.set_log_file(op, "dump.log"), "log file");
        criu::Request::check(L_.set_root(op, st_.rootfs.c_str()), "root");
        L_.set_manage_cgroups(op, true);
        L_.set_pid(op, st_.pid);
        L_.set_shell_job(op, o_.shell_job);
        L_.set_leave_running(op, o_.leave_running);
        L_.set_tcp_established(op, o_.tcp_established);
        if (o_.tcp_skip_in_flight) L_.set_tcp_skip_in_flight(op, true);
        L_.set_ext_unix_sk(op, o_.ext_unix_sk);
        L_.set_file_locks(op, o_.file_locks);
        if (o_.link_remap) L_.set_link_remap(op, true);
        L_.set_empty_ns(op, criu::empty_ns_mask(o_.empty_ns));
        L_.set_orphan_pts_master(op, true);
        L_.set_auto_dedup(op, o_.auto_dedup);
        if (!o_.work_path.empty()) {
            work_.reset(criu::open_dir(o_.work_path, true));
            L_.set_work_dir_fd(op, work_.get());
        }
        config(r);
        external_namespaces(r);
        // CRIU freezes the container's cgroup (instead of ptrace-stopping each task).
        bool v1 = false;
        cgroups::FsManager cg(cgroups::hierarchies_of(st_.cgroup), st_.cgroup.dirs);
        if (const std::string *f = cg.freezer_dir(v1)) criu::Request::check(L_.set_freeze_cgroup(op, f->c_str()), "freeze cgroup");
        if (!o_.page_server.empty() && !o_.lazy_pages) {
            std::string addr;
            int port = 0;
            split_page_server(o_.page_server, addr, port);
            criu::Request::check(L_.set_page_server_address_port(op, addr.c_str(), port), "page server");
        }
        if (!o_.parent_path.empty()) {
            criu::Request::check(L_.set_parent_images(op, o_.parent_path.c_str()), "parent images");
            L_.set_track_mem(op, true);
        }
        if (int mode = criu::cgroups_mode(o_.manage_cgroups_mode); mode >= 0) L_.set_manage_cgroups_mode(op, mode);
    }

    // org.criu.config / kiln.conf; a lazy dump also needs lines libcriu has
    // no setter for (its page server listens for the lazy-pages daemon).
    void config(criu::Request &r) {
        std::string file = criu::config_file(st_.annotations);
        if (o_.lazy_pages) {
            std::vector<std::string> lines{"lazy-pages"};
            if (!o_.page_server.empty()) {
                std::string addr;
                int port = 0;
                split_page_server(o_.page_server, addr, port);
                lines.push_back("address " + addr);
                lines.push_back("port " + std::to_string(port));
            }
            file = criu::merged_config(g_.root + "/" + st_.id, lines, file);
        }
        if (!file.empty()) criu::Request::check(L_.set_config_file(r.get(), file.c_str()), "config file");
    }

    // A network or pid namespace given by path stays outside the dump;
    // restore joins it again (runc's extRoot<Type>NS keys).
    void external_namespaces(criu::Request &r) {
        for (const char *t : {"network", "pid"}) {
            std::string path = criu::ns_path(spec_, t);
            if (path.empty()) continue;
            struct stat sb;
            if (::stat(path.c_str(), &sb) < 0) throw_errno("stat " + path);
            std::string n = criu::ns_name(t);
            std::string key = n + "[" + std::to_string(sb.st_ino) + "]:extRoot" + (n == "net" ? "Net" : "Pid") + "NS";
            criu::Request::check(L_.add_external(r.get(), key.c_str()), "external namespace");
        }
    }

    void mounts(criu::Request &r) {
        for (auto &m : criu::external_mounts(spec_, st_.rootfs, st_.bundle, st_.cgroup.dirs, false))
            criu::Request::check(L_.add_ext_mount(r.get(), m.key.c_str(), m.val.c_str()), "external mount");
        // Masked files are binds of /dev/null (directories are tmpfs, dumped as such).
        std::string proc_root = "/proc/" + std::to_string(st_.pid) + "/root";
        if (spec_.linux) {
            for (auto &p : spec_.linux->maskedPaths) {
                struct stat sb;
                if (::stat((proc_root + p).c_str(), &sb) < 0 || S_ISDIR(sb.st_mode)) continue;
                criu::Request::check(L_.add_ext_mount(r.get(), p.c_str(), "/dev/null"), "external mount");
            }
        }
        for (auto &d : criu::device_paths(spec_))
            criu::Request::check(L_.add_ext_mount(r.get(), d.c_str(), d.c_str()), "external mount");
        // Run with NOTIFY_SOCKET: /run/notify binds the state dir's notify/
        // (not in config.json); restore binds its own again, as runc does.
        struct stat sb;
        if (::stat((g_.root + "/" + st_.id + "/notify").c_str(), &sb) == 0)
            criu::Request::check(L_.add_ext_mount(r.get(), notify::kContainerDir, notify::kContainerDir), "external mount");
    }

    int notify(const std::string &action) {
        if (action == "status-ready" && o_.status_fd >= 0) {
            char zero = 0;
            if (::write(o_.status_fd, &zero, 1) != 1) ::dprintf(2, "kiln: can't write \\0 to status fd: %s\n", std::strerror(errno));
            ::close(o_.status_fd);
        }
        return 0;
    }
};

// After a dump the container's processes are gone (CRIU killed them). Its
// cgroup may hold another container's by then: a lazy restore of the same
// config under a new id, as runc's checkpoint.bats does, while the pages
// are still being fetched. runc leaves such a cgroup alone (its rmdir
// fails); so does kiln, rather than kill the other container.
void destroy_checkpointed(const Globals &g, const std::string &id) {
    {
        StateDir dir = StateDir::open(g.root, id);
        StoredState st = dir.load();
        auto cg = cgroups::open(st.cgroup);
        if (st.own_pid_ns && process_start_time(st.pid) == 0 && !cg->pids().empty()) {
            if (!st.hooks.empty())
                hooks::run_warn_only(spec::parse_hooks(st.hooks).poststop, "poststop",
                                     spec::hook_state_json(st.ociVersion, st.id, "stopped", 0, st.bundle, st.annotations),
                                     st.bundle);
            dir.remove();
            return;
        }
    }
    remove(g, id, true);
}

}  // namespace

void checkpoint(const Globals &g, const CheckpointOptions &o) {
    validate_id(o.id);
    bool destroy = !(o.leave_running || o.pre_dump);
    {
        StateDir dir = StateDir::open(g.root, o.id);
        StoredState st = dir.load();
        std::string status = to_string(status_of(st, dir.path()));
        if (status == "created" || status == "stopped")
            throw Error("Container cannot be checkpointed in " + status + " state");
        mkdir_all(o.image_path, 0700);
        check_parent_path(o);
        if (!handlers::checkpoint(st, o, status == "paused")) Dump(g, st, o).run();  // else the handler's snapshot
    }
    // As runc: the checkpointed container is gone (CRIU has killed its
    // processes); poststop hooks run and the state goes. A failed dump
    // leaves it running (CRIU resumes the tasks; runc would destroy it).
    if (destroy) destroy_checkpointed(g, o.id);
}

std::string checkpoint_criu_version(const Globals &g) {
    int v = 0;
    if (!criu::usable(g.criu, &v)) return "";
    return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

}  // namespace kiln
