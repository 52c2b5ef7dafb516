#include "handlers/km_snapshot.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/mount.h>

#include <cerrno>
#include <cstring>

#include "container/state.hpp"
#include "handlers/handler.hpp"
#include "handlers/km.hpp"
#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "util/child.hpp"
#include "util/fd.hpp"

namespace kiln::handlers::km {
namespace {

bool is_private_dev(const spec::Spec &spec) {
    bool tmpfs = false;
    for (auto &m : spec.mounts)
        if (m.destination == "/dev" || m.destination == "/dev/") tmpfs = m.type == "tmpfs";
    return tmpfs;
}

[[noreturn]] void refuse(const std::string &flag) {
    throw Error("km handler: " + flag +
                " is not supported for KM containers: a KM snapshot holds the payload's memory and vCPUs; km "
                "restores only its stdio (no sockets, locks or other files)");
}

void check_flags(const CheckpointOptions &o) {
    if (o.pre_dump) refuse("--pre-dump");
    if (!o.parent_path.empty()) refuse("--parent-path");
    if (o.lazy_pages) refuse("--lazy-pages");
    if (!o.page_server.empty()) refuse("--page-server");
    if (o.tcp_established) refuse("--tcp-established");
    if (o.ext_unix_sk) refuse("--ext-unix-sk");
    if (o.file_locks) refuse("--file-locks");
}

// The host uid/gid km runs as (effective ids, second field of Uid:/Gid:).
void km_owner(pid_t pid, uid_t &uid, gid_t &gid) {
    std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
    auto field = [&](const char *name) {
        auto p = status.find(name);
        if (p == std::string::npos) throw Error("km handler: no " + std::string(name) + " in /proc/PID/status");
        const char *s = status.c_str() + p + std::strlen(name);
        std::strtoul(s, const_cast<char **>(&s), 10);  // real id
        return std::strtoul(s, nullptr, 10);           // effective id
    };
    uid = static_cast<uid_t>(field("\nUid:"));
    gid = static_cast<gid_t>(field("\nGid:"));
}

std::string timestamp() {
    time_t now = ::time(nullptr);
    char buf[64];
    struct tm tm;
    ::gmtime_r(&now, &tm);
    ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// km_cli's send_request: one request per connection, an int back (0 or an
// errno). EAGAIN (the payload has not started yet) is retried as km_cli does.
int send_request(const MgmtRequest &req) {
    for (int attempt = 0;; attempt++) {
        UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!s) return errno;
        struct sockaddr_un addr {};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, kMgmtSocket, sizeof addr.sun_path - 1);
        if (::connect(s.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0) return errno;
        if (::send(s.get(), &req, sizeof req, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof req)) return EIO;
        int32_t status = EIO;
        ssize_t n = ::recv(s.get(), &status, sizeof status, MSG_WAITALL);
        if (n != static_cast<ssize_t>(sizeof status)) status = n < 0 ? errno : EPROTO;
        if (status != EAGAIN || attempt >= 3) return status;
        ::usleep(250000);
    }
}

// In a child in the container's mount namespace: the image's (pre-made)
// snapshot file bound over a fresh file in kMgmtDir, the request sent, the
// bind undone. km's refusal (an errno) throws like our own errors.
void request_in_container(pid_t pid, const std::string &image_file, const MgmtRequest &req) {
    UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, image_file.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
    if (!tree) throw_errno("km handler: open_tree " + image_file);
    UniqueFd mntns(::open(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
    if (!mntns) throw_errno("km handler: open the container's mount namespace");
    try {
        in_child([&] {
            if (::setns(mntns.get(), CLONE_NEWNS) < 0) throw_errno("setns mount namespace");
            UniqueFd dir(::open(kMgmtDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!dir) throw_errno(std::string("open ") + kMgmtDir + " in the container");
            ::unlinkat(dir.get(), kSnapshotTarget, 0);  // whatever the container left there
            UniqueFd target(::openat(dir.get(), kSnapshotTarget, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!target) throw_errno(std::string("create ") + kMgmtDir + "/" + kSnapshotTarget);
            if (::syscall(SYS_move_mount, tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                throw_errno("bind the snapshot file into the container");
            int status = send_request(req);
            std::string where = std::string(kMgmtDir) + "/" + kSnapshotTarget;
            ::umount2(where.c_str(), MNT_DETACH);
            ::unlinkat(dir.get(), kSnapshotTarget, 0);
            if (status != 0) throw Error("km could not take the snapshot: " + std::string(std::strerror(status)));
        });
    } catch (const Error &e) {
        throw Error("km handler: " + std::string(e.what()));
    }
}

bool wait_exit(pid_t pid, int ms) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) return errno == ESRCH;
    struct pollfd p = {pidfd.get(), POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
}

void write_info(const StoredState &st, const CheckpointOptions &o) {
    json::Writer w("  ");
    w.begin_object();
    w.key("handler").string("km");
    w.key("snapshot").string(kImageSnapshot);
    w.key("id").string(st.id);
    w.key("bundle").string(st.bundle);
    w.key("live").boolean(o.leave_running);
    w.key("created").string(timestamp());
    w.end_object();
    write_file_atomic(o.image_path + "/" + kImageInfo, w.str() + "\n", 0600);
}

}  // namespace

MgmtRequest snapshot_request(const std::string &label, const std::string &description, bool live,
                             const std::string &path) {
    MgmtRequest r;
    std::memset(&r, 0, sizeof r);
    r.opcode = kMgmtReqSnapshot;
    r.length = sizeof r.snapshot;
    if (path.size() >= sizeof r.snapshot.snapshot_path) throw Error("km handler: snapshot path too long: " + path);
    std::strncpy(r.snapshot.label, label.c_str(), sizeof r.snapshot.label - 1);
    std::strncpy(r.snapshot.description, description.c_str(), sizeof r.snapshot.description - 1);
    r.snapshot.live = live ? 1 : 0;
    std::memcpy(r.snapshot.snapshot_path, path.c_str(), path.size());
    return r;
}

bool snapshots_possible(const spec::Spec &spec) { return is_private_dev(spec); }

void prepare_mgmt_dir(const spec::Spec &spec) {
    if (!is_private_dev(spec)) return;
    if (::mkdir(kMgmtDir, 0700) < 0 && errno != EEXIST) throw_errno(std::string("km handler: mkdir ") + kMgmtDir);
    uid_t uid = spec.process ? spec.process->user.uid : 0;
    gid_t gid = spec.process ? spec.process->user.gid : 0;
    if (::lchown(kMgmtDir, uid, gid) < 0 || ::chmod(kMgmtDir, 0700) < 0)
        throw_errno(std::string("km handler: chown ") + kMgmtDir);
}

void snapshot_checkpoint(const StoredState &st, const CheckpointOptions &o, bool paused) {
    check_flags(o);
    if (paused)
        throw Error("km handler: cannot snapshot a paused container (km serves snapshot requests only while it "
                    "runs): resume it first");
    std::string sock = "/proc/" + std::to_string(st.pid) + "/root" + kMgmtSocket;
    struct stat sb;
    if (::lstat(sock.c_str(), &sb) < 0 || !S_ISSOCK(sb.st_mode))
        throw Error("km handler: container " + st.id + " has no km management socket (" + kMgmtSocket +
                    "): KM snapshots need \"snapshots\": true in the km config when the container is created, and "
                    "the container's own /dev");
    // km opens the path O_TRUNC as its own user: the file exists, and is theirs.
    std::string file = o.image_path + "/" + kImageSnapshot;
    uid_t uid;
    gid_t gid;
    km_owner(st.pid, uid, gid);
    {
        UniqueFd f(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!f) throw_errno("create " + file);
        if (::fchown(f.get(), uid, gid) < 0) throw_errno("chown " + file);
    }
    std::string target = std::string(kMgmtDir) + "/" + kSnapshotTarget;
    MgmtRequest req = snapshot_request("kiln " + st.id, "kiln checkpoint " + timestamp(), o.leave_running, target);
    try {
        request_in_container(st.pid, file, req);
    } catch (...) {
        ::unlink(file.c_str());
        throw;
    }
    write_info(st, o);
    // Without --leave-running km ends the payload after the snapshot.
    if (!o.leave_running) wait_exit(st.pid, 10000);
}

bool is_snapshot_image(const std::string &image_dir) {
    return ::access((image_dir + "/" + kImageInfo).c_str(), F_OK) == 0;
}

int snapshot_restore(const Globals &g, const RestoreOptions &o) {
    if (o.tcp_established) refuse("--tcp-established");
    if (o.ext_unix_sk) refuse("--ext-unix-sk");
    if (o.file_locks) refuse("--file-locks");
    if (o.lazy_pages) refuse("--lazy-pages");
    if (!o.lsm_profile.empty()) refuse("--lsm-profile");
    if (!o.lsm_mount_context.empty()) refuse("--lsm-mount-context");
    std::string info = o.image_path + "/" + kImageInfo;
    auto doc = json::Doc::parse(read_file(info), info);
    if (doc.get_string({"handler"}) != "km") throw Error(info + ": not a KM snapshot image");
    std::string name = doc.get_string({"snapshot"}, kImageSnapshot);
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        throw Error(info + ": snapshot: must be a file name in the image directory");
    std::string snap = o.image_path + "/" + name;
    if (::access(snap.c_str(), R_OK) < 0) throw_errno("km handler: snapshot " + snap);
    Globals g2 = g;
    g2.handler = "km";
    g2.handler_options[kResumeOption] = snap;
    RunOptions ro;
    ro.id = o.id;
    ro.bundle = o.bundle;
    ro.console_socket = o.console_socket;
    ro.pid_file = o.pid_file;
    ro.no_pivot = o.no_pivot;
    ro.detach = o.detach;
    ro.no_subreaper = o.no_subreaper;
    return run(g2, ro);
}

}  // namespace kiln::handlers::km
