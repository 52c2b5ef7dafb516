#include "container/state.hpp"

#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cgroups/cgroup.hpp"
#include "kiln/error.hpp"
#include "kiln/json.hpp"

namespace kiln {
namespace {

std::string serialize(const StoredState &s) {
    json::Writer w;
    w.begin_object();
    w.key("id").string(s.id);
    w.key("ociVersion").string(s.ociVersion);
    w.key("bundle").string(s.bundle);
    w.key("rootfs").string(s.rootfs);
    w.key("created").string(s.created);
    w.key("pid").integer(s.pid);
    w.key("start_time").uinteger(s.start_time);
    w.key("own_pid_ns").boolean(s.own_pid_ns);
    w.key("has_process").boolean(s.has_process);
    w.key("annotations").begin_object();
    for (auto &[k, v] : s.annotations) w.key(k).string(v);
    w.end_object();
    if (!s.hooks.empty()) w.key("hooks").string(s.hooks);
    w.key("cgroup_dirs").begin_object();
    for (size_t i = 0; i < s.cgroup_dirs.size(); i++) w.key(std::to_string(i)).string(s.cgroup_dirs[i]);
    w.end_object();
    if (!s.cgroup_unit.empty()) w.key("cgroup_unit").string(s.cgroup_unit);
    w.end_object();
    return w.str();
}

StoredState deserialize(const std::string &text, const std::string &file) {
    auto doc = json::Doc::parse(text, file);
    StoredState s;
    s.id = doc.get_string({"id"});
    s.ociVersion = doc.get_string({"ociVersion"});
    s.bundle = doc.get_string({"bundle"});
    s.rootfs = doc.get_string({"rootfs"});
    s.created = doc.get_string({"created"});
    s.pid = static_cast<pid_t>(doc.get_int({"pid"}));
    s.start_time = static_cast<unsigned long long>(doc.get_int({"start_time"}));
    s.own_pid_ns = doc.get_bool({"own_pid_ns"}, true);
    s.has_process = doc.get_bool({"has_process"}, true);
    for (auto &[k, v] : doc.get_string_map({"annotations"})) s.annotations[k] = v;
    for (auto &kv : doc.get_string_map({"cgroup_dirs"})) s.cgroup_dirs.push_back(kv.second);
    s.hooks = doc.get_string({"hooks"});
    s.cgroup_unit = doc.get_string({"cgroup_unit"});
    return s;
}

void lock_dir(int fd) {
    while (::flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) throw_errno("lock container state");
}

int remove_tree_at(int dirfd) {
    DIR *d = ::fdopendir(dirfd);
    if (!d) return -1;
    while (auto *e = ::readdir(d)) {
        if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
        if (e->d_type == DT_DIR) {
            int sub = ::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) remove_tree_at(sub);
            ::unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
        } else {
            ::unlinkat(dirfd, e->d_name, 0);
        }
    }
    ::closedir(d);
    return 0;
}

}  // namespace

StateDir StateDir::create(const std::string &root, const std::string &id) {
    if (::mkdir(root.c_str(), 0700) < 0 && errno != EEXIST) {
        if (errno != ENOENT) throw_errno("mkdir " + root);
        mkdir_all(root, 0700);
    }
    StateDir sd;
    sd.path_ = root + "/" + id;
    if (::mkdir(sd.path_.c_str(), 0711) < 0) {
        if (errno == EEXIST) throw Error("container with given ID already exists");
        throw_errno("mkdir " + sd.path_);
    }
    sd.fd_.reset(::open(sd.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!sd.fd_) {
        int err = errno;
        ::rmdir(sd.path_.c_str());
        throw_errno("open " + sd.path_, err);
    }
    lock_dir(sd.fd_.get());
    return sd;
}

StateDir StateDir::open(const std::string &root, const std::string &id, bool lock) {
    StateDir sd;
    sd.path_ = root + "/" + id;
    sd.fd_.reset(::open(sd.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!sd.fd_) {
        if (errno == ENOENT || errno == ENOTDIR) throw Error("container does not exist");
        throw_errno("open " + sd.path_);
    }
    if (lock) lock_dir(sd.fd_.get());
    return sd;
}

void StateDir::save(const StoredState &s) const { write_file_atomic(path_ + "/state.json", serialize(s), 0600); }

StoredState StateDir::load() const {
    std::string file = path_ + "/state.json", text;
    if (!try_read_file(file, text)) {
        if (errno == ENOENT) throw Error("container does not exist");
        throw_errno("open " + file);
    }
    return deserialize(text, file);
}

void StateDir::remove() {
    int dup = ::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0);
    if (dup >= 0) remove_tree_at(dup);
    ::rmdir(path_.c_str());
}

StoredState load_state(const std::string &root, const std::string &id) {
    std::string file = root + "/" + id + "/state.json", text;
    if (!try_read_file(file, text)) {
        if (errno == ENOENT || errno == ENOTDIR) throw Error("container does not exist");
        throw_errno("open " + file);
    }
    return deserialize(text, file);
}

unsigned long long process_start_time(pid_t pid) {
    if (pid <= 0) return 0;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    std::string stat;
    if (!try_read_file(path, stat)) return 0;
    // The command name may hold spaces and ')': fields resume after the last ')'.
    auto paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size()) return 0;
    const char *p = stat.c_str() + paren + 2;
    if (*p == 'Z' || *p == 'X') return 0;
    // state is field 3; starttime is field 22.
    for (int field = 3; field < 22; field++) {
        p = std::strchr(p, ' ');
        if (!p) return 0;
        p++;
    }
    return std::strtoull(p, nullptr, 10);
}

std::string status_of(const StoredState &s, const std::string &state_dir) {
    if (s.pid <= 0 || process_start_time(s.pid) != s.start_time) return "stopped";
    if (::access((state_dir + "/exec.fifo").c_str(), F_OK) == 0) return "created";
    if (cgroups::open(s.cgroup_dirs, s.cgroup_unit)->frozen()) return "paused";
    return "running";
}

std::string now_rfc3339nano() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    ::gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    size_t n = ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    // Go's RFC3339Nano drops trailing zeros of the fraction.
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
    std::string f(frac);
    while (f.size() > 1 && f.back() == '0') f.pop_back();
    if (f == ".") f.clear();
    return std::string(buf, n) + f + "Z";
}

StoredState parse_state(const std::string &text, const std::string &file) { return deserialize(text, file); }

}  // namespace kiln
