#include "container/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "util/unsafe.hpp"

namespace kiln {
namespace {

// "cgroup": {"driver": "hybrid", "unit": "x.scope", "hierarchies": [{"mount":
// "/sys/fs/cgroup/pids", "type": "cgroup", "controllers": "pids", "path":
// "/kiln/c1"}, ...]}; no member when the container has no cgroup.
void write_cgroup(json::Writer &w, const cgroups::Record &r) {
    if (r.empty()) return;
    if (r.hs.size() != r.dirs.size()) {  // read from an older kiln: kept as it was
        w.key("cgroup_dirs").begin_object();
        for (size_t i = 0; i < r.dirs.size(); i++) w.key(std::to_string(i)).string(r.dirs[i]);
        w.end_object();
        if (!r.unit.empty()) w.key("cgroup_unit").string(r.unit);
        return;
    }
    w.key("cgroup").begin_object().key("driver").string(cgroups::driver_name(r.driver));
    if (!r.unit.empty()) w.key("unit").string(r.unit);
    w.key("hierarchies").begin_array();
    for (size_t i = 0; i < r.dirs.size(); i++) {
        auto &h = r.hs[i];
        std::string path = r.dirs[i].size() > h.mount.size() ? r.dirs[i].substr(h.mount.size()) : "/";
        w.begin_object().key("mount").string(h.mount).key("type").string(h.v2 ? "cgroup2" : "cgroup");
        w.key("controllers").string(h.controllers).key("path").string(path).end_object();
    }
    w.end_array().end_object();
}

// The record above, or an older kiln's: "cgroup_dirs" {"0": dir, ...} (one
// per hierarchy of that day, in mountinfo order) and "cgroup_unit".
cgroups::Record read_cgroup(const json::Doc &doc) {
    cgroups::Record r;
    if (!doc.has({"cgroup"})) {
        for (auto &kv : doc.get_string_map({"cgroup_dirs"})) r.dirs.push_back(kv.second);
        r.unit = doc.get_string({"cgroup_unit"});
        return r;
    }
    r.driver = cgroups::driver_from(doc.get_string({"cgroup", "driver"}));
    r.unit = doc.get_string({"cgroup", "unit"});
    std::vector<std::vector<std::pair<std::string, std::string>>> hs;
    doc.get_object_array({"cgroup", "hierarchies"}, hs);
    for (auto &members : hs) {
        cgroups::Hierarchy h;
        std::string path;
        for (auto &[k, v] : members) {
            if (k == "mount") h.mount = v;
            else if (k == "type") h.v2 = v == "cgroup2";
            else if (k == "controllers") h.controllers = v;
            else if (k == "path") path = v;
        }
        r.dirs.push_back(h.mount + (path == "/" ? "" : path));
        r.hs.push_back(std::move(h));
    }
    return r;
}

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
    if (s.no_new_keyring) w.key("no_new_keyring").boolean(true);
    w.key("annotations").begin_object();
    for (auto &[k, v] : s.annotations) w.key(k).string(v);
    w.end_object();
    if (!s.hooks.empty()) w.key("hooks").string(s.hooks);
    if (!s.cgroup_planned.empty()) {
        w.key("cgroup_planned").begin_array();
        for (auto &d : s.cgroup_planned) w.string(d);
        w.end_array();
    }
    if (!s.rdt.path.empty()) {
        w.key("rdt").begin_object().key("root").string(s.rdt.root).key("path").string(s.rdt.path);
        w.key("created").boolean(s.rdt.created).key("mon").string(s.rdt.mon).end_object();
    }
    // Last, so that list can leave it unparsed (see load_state_at).
    write_cgroup(w, s.cgroup);
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
    s.no_new_keyring = doc.get_bool({"no_new_keyring"}, false);
    for (auto &[k, v] : doc.get_string_map({"annotations"})) s.annotations[k] = v;
    s.cgroup = read_cgroup(doc);
    doc.get_string_array({"cgroup_planned"}, s.cgroup_planned);
    s.hooks = doc.get_string({"hooks"});
    s.rdt.root = doc.get_string({"rdt", "root"});
    s.rdt.path = doc.get_string({"rdt", "path"});
    s.rdt.created = doc.get_bool({"rdt", "created"});
    s.rdt.mon = doc.get_string({"rdt", "mon"});
    return s;
}

const char kNotExist[] = "container does not exist";

// A state dir on its way in: "<root>/.new-<pid>-<random>" (never an id:
// list skips names starting with '.').
constexpr std::string_view kTempPrefix = ".new-";

std::string temp_name(const std::string &root) {
    unsigned char r[6] = {};
    if (::getrandom(r, sizeof r, 0) != sizeof r) throw_errno("getrandom");
    char hex[16];
    std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
    return root + "/" + std::string(kTempPrefix) + std::to_string(::getpid()) + "-" + hex;
}

// rename() without replacing what is there (rename would replace an empty dir).
void place(const std::string &from, const std::string &to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
    int err = errno;
    if (err == EINVAL) {  // a file system without RENAME_NOREPLACE
        if (::access(to.c_str(), F_OK) == 0) throw Error("container with given ID already exists");
        if (::rename(from.c_str(), to.c_str()) == 0) return;
        err = errno;
    }
    if (err == EEXIST || err == ENOTEMPTY) throw Error("container with given ID already exists");
    throw_errno("rename " + from + " to " + to, err);
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

void check_root(const std::string &root) {
    if (unsafe::off("state-tmp")) return;
    struct stat st;
    if (::stat(root.c_str(), &st) < 0) return;  // missing: made 0700; other errors show on use
    if (!(st.st_mode & 022) && (st.st_uid == 0 || st.st_uid == ::geteuid())) return;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    throw Error("--root " + root + ": the state directory is writable by other users (mode " + mode + ", owner uid " +
                std::to_string(st.st_uid) + "): refusing to keep container state there");
}

StateDir StateDir::create(const std::string &root, const std::string &id, const StoredState &first) {
    check_root(root);
    if (::mkdir(root.c_str(), 0700) < 0 && errno != EEXIST) {
        if (errno != ENOENT) throw_errno("mkdir " + root);
        mkdir_all(root, 0700);
    }
    StateDir sd;
    sd.path_ = temp_name(root);
    if (::mkdir(sd.path_.c_str(), 0711) < 0) throw_errno("mkdir " + sd.path_);
    sd.fd_.reset(::open(sd.path_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sd.fd_) {
        int err = errno;
        ::rmdir(sd.path_.c_str());
        throw_errno("open " + sd.path_, err);
    }
    try {
        lock_dir(sd.fd_.get());
        sd.save(first);
        place(sd.path_, root + "/" + id);
    } catch (...) {
        sd.remove();
        throw;
    }
    sd.path_ = root + "/" + id;
    return sd;
}

void StateDir::sweep(const std::string &root) {
    UniqueFd rfd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    int list_fd = rfd ? ::fcntl(rfd.get(), F_DUPFD_CLOEXEC, 0) : -1;
    DIR *d = list_fd >= 0 ? ::fdopendir(list_fd) : nullptr;
    if (!d) {
        if (list_fd >= 0) ::close(list_fd);
        return;
    }
    while (auto *e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name.substr(0, kTempPrefix.size()) != kTempPrefix) continue;
        // Its maker locked it right after mkdir and holds the lock until the
        // rename; a dir nobody locks whose maker is gone is garbage.
        pid_t maker = static_cast<pid_t>(std::atoi(e->d_name + kTempPrefix.size()));
        if (maker <= 0 || ::kill(maker, 0) == 0 || errno != ESRCH) continue;
        UniqueFd fd(::openat(rfd.get(), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) continue;
        int dup = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);  // remove_tree_at closes it
        if (dup >= 0) remove_tree_at(dup);
        ::unlinkat(rfd.get(), e->d_name, AT_REMOVEDIR);
    }
    ::closedir(d);
}

StateDir StateDir::open(const std::string &root, const std::string &id, bool lock) {
    check_root(root);
    StateDir sd;
    sd.path_ = root + "/" + id;
    sd.fd_.reset(::open(sd.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!sd.fd_) {
        if (errno == ENOENT || errno == ENOTDIR) throw Error(kNotExist, ENOENT);
        throw_errno("open " + sd.path_);
    }
    if (lock) lock_dir(sd.fd_.get());
    return sd;
}

namespace {

// bind()/connect() take a path of at most 107 bytes: go through our state
// dir fd, which also pins the directory we locked.
sockaddr_un start_address(int dir_fd) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dir_fd, StateDir::kStartSocket);
    return addr;
}

}  // namespace

UniqueFd StateDir::listen_start_socket() const {
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("socket");
    sockaddr_un addr = start_address(fd_.get());
    // Made 0600 from the start: only root may start the container.
    mode_t old = ::umask(077);
    int rc = ::bind(s.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr);
    int err = errno;
    ::umask(old);
    if (rc < 0) throw_errno("bind " + start_socket_path(), err);
    if (::listen(s.get(), 4) < 0) throw_errno("listen " + start_socket_path());
    return s;
}

int StateDir::connect_start_socket() const {
    UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!s) return -1;
    sockaddr_un addr = start_address(fd_.get());
    if (::connect(s.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0) return -1;
    return s.release();
}

// Through the locked directory's fd: a directory swapped in at its path
// later gets nothing (and the temp file's name cannot be guessed).
void StateDir::save(const StoredState &s) const {
    if (!unsafe::off("state-tmp")) return write_file_atomic(fd_.get(), "state.json", serialize(s), 0600);
    // Unsafe knob only: a fixed temporary name, by path, following symlinks.
    std::string tmp = path_ + "/state.json.tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd || !write_all(fd.get(), serialize(s)) || ::rename(tmp.c_str(), (path_ + "/state.json").c_str()) < 0)
        throw_errno("write " + tmp);
}

void StateDir::save_config(std::string_view text) const { write_file_atomic(fd_.get(), "config.json", text, 0600); }

StoredState StateDir::load() const {
    std::string file = path_ + "/state.json", text;
    // Through the locked directory's fd; a symlink planted as state.json is not followed.
    if (!try_read_small_file(fd_.get(), "state.json", text, O_NOFOLLOW)) {
        if (errno == ENOENT) throw Error(kNotExist, ENOENT);
        throw_errno("open " + file);
    }
    return deserialize(text, file);
}

// The files kiln keeps there by name; anything else (a temporary file of a
// create that died, checkpoint leftovers) by walking the directory.
bool StateDir::remove() {
    for (const char *f : {"state.json", "config.json", kStartSocket}) ::unlinkat(fd_.get(), f, 0);
    if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != ENOTEMPTY && errno != EEXIST) return false;
    int dup = ::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0);
    if (dup >= 0) remove_tree_at(dup);
    return ::rmdir(path_.c_str()) == 0 || errno == ENOENT;
}

StoredState load_state(const std::string &root, const std::string &id, bool check) {
    if (check) check_root(root);
    std::string dir = root + "/" + id;
    return load_state_at(AT_FDCWD, dir, dir);
}

StoredState load_state_at(int dirfd, const std::string &dir, const std::string &shown, bool defer_cgroup) {
    std::string file = shown + "/state.json", text;
    if (!try_read_small_file(dirfd, (dir + "/state.json").c_str(), text)) {
        if (errno == ENOENT || errno == ENOTDIR) throw Error(kNotExist, ENOENT);
        throw_errno("open " + file);
    }
    // The cgroup record is the last member and most of the parse: list
    // needs it only for a started container's freezer. A quote inside a
    // JSON string is escaped, so the last ',"cgroup":{' is the member's
    // (annotations, where a key "cgroup" could be, come before it).
    static constexpr std::string_view kMember = ",\"cgroup\":{";
    auto pos = defer_cgroup ? text.rfind(kMember) : std::string::npos;
    if (pos != std::string::npos && text.size() >= pos + kMember.size() + 2 && text.compare(text.size() - 2, 2, "}}") == 0) {
        std::string member = "{" + text.substr(pos + 1);
        text.resize(pos);
        text += '}';
        try {
            StoredState s = deserialize(text, file);
            s.cgroup_deferred = std::move(member);
            return s;
        } catch (const Error &) {
            text.resize(pos);
            text += member.substr(1);  // not what kiln writes: parse it whole
        }
    }
    return deserialize(text, file);
}

cgroups::Record deferred_cgroup(const StoredState &s, const std::string &shown) {
    if (s.cgroup_deferred.empty()) return s.cgroup;
    return read_cgroup(json::Doc::parse(s.cgroup_deferred, shown + "/state.json"));
}

unsigned long long process_start_time(pid_t pid) {
    if (pid <= 0) return 0;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    std::string stat;
    if (!try_read_small_file(AT_FDCWD, path, stat)) return 0;
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

bool alive(const StoredState &s) { return s.pid > 0 && process_start_time(s.pid) == s.start_time; }

std::string hook_state(const StoredState &st, const char *status, int pid) {
    return spec::hook_state_json(st.ociVersion, st.id, status, pid, st.bundle, st.annotations);
}

void validate_id(const std::string &id) {
    if (id.empty()) throw Error("container id cannot be empty");
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '.' || c == '-'))
            throw Error("invalid container ID format");
    if (id == "." || id == "..") throw Error("invalid container ID format");
}

void write_pid_file(const std::string &path, pid_t pid) {
    if (path.empty()) return;
    // runc: ".<name>" next to it, O_EXCL, then rename over the target.
    auto slash = path.find_last_of('/');
    std::string tmp = path.substr(0, slash + 1) + "." + path.substr(slash + 1);
    UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!fd) throw_errno("open " + tmp);
    std::string text = std::to_string(pid);
    if (!write_all(fd.get(), text)) {
        ::unlink(tmp.c_str());
        throw_errno("write " + tmp);
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw_errno("rename " + path, err);
    }
}

std::string rfc3339nano(const struct timespec &ts) {
    // The civil date by hand (Hinnant's days-to-civil): glibc's gmtime_r and
    // strftime both run tzset(), which reads /etc/localtime (5 syscalls) for
    // a time that is UTC anyway.
    long long secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
    if (rem < 0) rem += 86400, days--;
    long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    long long day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    long long year = yoe + era * 400 + (month <= 2);
    char buf[128];
    int n = std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ld", year, month, day,
                          rem / 3600, rem / 60 % 60, rem % 60, ts.tv_nsec);
    std::string s(buf, n > 0 ? static_cast<size_t>(n) : 0);
    // Go's RFC3339Nano drops trailing zeros of the fraction.
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s + "Z";
}

std::string now_rfc3339nano() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return rfc3339nano(ts);
}

StoredState parse_state(const std::string &text, const std::string &file) { return deserialize(text, file); }

}  // namespace kiln
