#include "linux/process.hpp"

#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>

#include <cerrno>
#include <cstring>

#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "linux/inroot.hpp"
#include "spec/tables.hpp"
#include "util/fd.hpp"
#include "util/unsafe.hpp"

namespace kiln::process {
namespace {

// Capability values of the names in a set; names this kernel or libcap
// does not know are skipped, as runc does.
// The kernel's last capability, asked of the kernel itself: this runs after
// pivot_root (and in `exec`, in the container's mount namespace), where a
// /proc/sys/kernel/cap_last_cap is whatever the container made it, and a
// small fake value would leave the bounding set undropped (CVE-2025-52881).
cap_value_t last_cap() {
    if (unsafe::off("cve-2025-52881")) {  // the file, read where it is used
        std::string v;
        if (try_read_file("/proc/sys/kernel/cap_last_cap", v)) return static_cast<cap_value_t>(std::stoi(v));
    }
    static const cap_value_t last = [] {
        // PR_CAPBSET_READ fails with EINVAL past the last capability.
        auto known = [](int c) { return ::prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; };
        int c = CAP_LAST_CAP;
        if (known(c))
            while (c < 63 && known(c + 1)) c++;
        else
            while (c > 0 && !known(c)) c--;
        return static_cast<cap_value_t>(c);
    }();
    return last;
}

// The bounding set as kiln leaves it, asked of the kernel once per
// capability a set names (not once per name and set), and kept up to date
// as drop_bounding drops the others.
class Bounding {
public:
    bool has(cap_value_t c) {
        uint64_t bit = uint64_t(1) << c;
        if (!(known_ & bit) && cap_get_bound(c) == 1) in_ |= bit;
        known_ |= bit;
        return in_ & bit;
    }
    void dropped(cap_value_t c) {
        known_ |= uint64_t(1) << c;
        in_ &= ~(uint64_t(1) << c);
    }

private:
    uint64_t known_ = 0, in_ = 0;
};

// Also skipped: capabilities outside kiln's own bounding set (a host that
// withholds one, e.g. CAP_SYS_RESOURCE in a sandbox): no process could get it.
// A name as runc spells it ("CAP_KILL"; libcap would also take "cap_kill"
// or "kill", runc does not) that this kernel has.
bool known_cap(const std::string &name, cap_value_t &v) {
    if (name.rfind("CAP_", 0) != 0 || std::any_of(name.begin(), name.end(), [](char c) { return std::islower(static_cast<unsigned char>(c)); }))
        return false;
    return cap_from_name(name.c_str(), &v) == 0 && v <= last_cap();
}

std::vector<cap_value_t> cap_values(const std::vector<std::string> &names, Bounding &bound) {
    std::vector<cap_value_t> out;
    for (auto &n : names) {
        cap_value_t v;
        if (known_cap(n, v) && bound.has(v)) out.push_back(v);
    }
    return out;
}

bool contains(const std::vector<cap_value_t> &v, cap_value_t c) {
    for (auto x : v)
        if (x == c) return true;
    return false;
}

// Needs CAP_SETPCAP, so it runs before the uid changes.
void drop_bounding(const spec::Capabilities &caps, Bounding &bound) {
    auto bounding = cap_values(caps.bounding, bound);
    for (cap_value_t c = 0; c <= last_cap(); c++) {
        if (contains(bounding, c)) continue;
        if (cap_drop_bound(c) < 0 && errno != EINVAL) throw_errno("drop bounding capability");
        bound.dropped(c);
    }
}

void apply_caps(const spec::Capabilities &caps, Bounding &bound) {
    cap_t state = cap_init();
    if (!state) throw_errno("cap_init");
    auto set = [&](cap_flag_t flag, const std::vector<cap_value_t> &v) {
        if (!v.empty() && cap_set_flag(state, flag, static_cast<int>(v.size()), v.data(), CAP_SET) < 0)
            throw_errno("cap_set_flag");
    };
    auto permitted = cap_values(caps.permitted, bound), inheritable = cap_values(caps.inheritable, bound);
    set(CAP_EFFECTIVE, cap_values(caps.effective, bound));
    set(CAP_PERMITTED, permitted);
    set(CAP_INHERITABLE, inheritable);
    int rc = cap_set_proc(state);
    int err = errno;
    cap_free(state);
    if (rc < 0) throw_errno("capset", err);

    // One prctl (libcap's cap_reset_ambient asks IS_SET of every capability first).
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        throw_errno("reset ambient capabilities");
    // runc only warns when an ambient capability cannot be raised: the kernel
    // refuses (EPERM) one not in both the permitted and inheritable sets just
    // set, so those are not even tried; a refusal of the others is ignored too.
    for (auto c : cap_values(caps.ambient, bound))
        if (contains(permitted, c) && contains(inheritable, c)) ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
}

}  // namespace

std::vector<std::string> unknown_capabilities(const spec::Capabilities &caps) {
    std::vector<std::string> out;
    for (auto *set : {&caps.bounding, &caps.effective, &caps.inheritable, &caps.permitted, &caps.ambient})
        for (auto &n : *set) {
            cap_value_t v;
            if (known_cap(n, v) || std::find(out.begin(), out.end(), n) != out.end()) continue;
            out.push_back(n);
        }
    std::sort(out.begin(), out.end());
    return out;
}

void warn_unknown_capabilities(const std::optional<spec::Capabilities> &caps) {
    if (!caps) return;
    auto unknown = unknown_capabilities(*caps);
    if (unknown.empty()) return;
    std::string list;
    for (auto &n : unknown) list += (list.empty() ? "" : " ") + n;
    log::warn("ignoring unknown or unavailable capabilities: [" + list + "]");
}

void set_rlimits(const std::vector<spec::Rlimit> &rlimits) {
    for (auto &r : rlimits) {
        int res = -1;
        if (auto *k = spec::tables::find(spec::tables::kRlimits, r.type)) res = static_cast<int>(k->value);
        if (res < 0) throw Error("config.json: process.rlimits: unknown rlimit type \"" + r.type + "\"");
        struct rlimit rl{r.soft, r.hard};
        if (::setrlimit(res, &rl) < 0) throw_errno("error setting rlimit type " + r.type);
    }
}

void set_user_and_caps(const spec::Process &p, bool in_user_ns, bool rootless_euid) {
    const auto &u = p.user;
    const spec::Capabilities none;
    const auto &caps = p.capabilities ? *p.capabilities : none;
    // Validation refused these already; here because (uid_t)-1 would leave
    // the ids unchanged, i.e. root, whatever path got a process this far.
    bool big_gid = std::any_of(u.additionalGids.begin(), u.additionalGids.end(), [](uint32_t g) { return g > spec::kMaxId; });
    if ((u.uid > spec::kMaxId || u.gid > spec::kMaxId || big_gid) && !unsafe::off("uid-range"))
        throw Error(spec::kIdRangeError);
    // runc: a rootless runtime leaves the groups it was given alone.
    if (rootless_euid && !u.additionalGids.empty())
        throw Error("cannot set any additional groups in a rootless container");
    Bounding bound;
    drop_bounding(caps, bound);
    // setgroups is refused in a user namespace whose setgroups is "deny".
    std::vector<gid_t> groups(u.additionalGids.begin(), u.additionalGids.end());
    if (!rootless_euid && ::setgroups(groups.size(), groups.data()) < 0 && !(in_user_ns && errno == EPERM))
        throw_errno("setgroups");
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_KEEPCAPS)");
    if (::setresgid(u.gid, u.gid, u.gid) < 0) throw_errno("setresgid " + std::to_string(u.gid));
    if (::setresuid(u.uid, u.uid, u.uid) < 0) throw_errno("setresuid " + std::to_string(u.uid));
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_KEEPCAPS)");
    apply_caps(caps, bound);
}

// strerror as Go words errno values ("no such file or directory"): engines
// match runc's texts, e.g. docker maps "no such file or directory" to exit
// 127 and "permission denied" to 126.
static std::string go_strerror(int err) {
    std::string s = std::strerror(err);
    if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    return s;
}

std::string find_executable(const std::string &arg0, const std::vector<std::string> &env) {
    auto usable = [](const std::string &path, int &err) {
        struct stat st;
        if (::stat(path.c_str(), &st) < 0) return err = errno, false;
        if (S_ISDIR(st.st_mode)) return err = EACCES, false;
        if (::access(path.c_str(), X_OK) < 0) return err = errno, false;
        return true;
    };
    int err = 0;
    if (arg0.find('/') != std::string::npos) {
        if (usable(arg0, err)) return arg0;
        // runc (Go's exec.LookPath): a failed stat names it, a file that is
        // not executable (or a directory) is "permission denied"
        if (err == EACCES && ::access(arg0.c_str(), F_OK) == 0)
            throw Error("exec: \"" + arg0 + "\": " + go_strerror(err), err);
        throw Error("exec: \"" + arg0 + "\": stat " + arg0 + ": " + go_strerror(err), err);
    }
    std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (auto &e : env)
        if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
    size_t start = 0;
    for (;;) {
        size_t colon = path.find(':', start);
        std::string dir = path.substr(start, colon - start);
        std::string cand = (dir.empty() ? "." : dir) + "/" + arg0;
        if (usable(cand, err)) return cand;
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    throw Error("exec: \"" + arg0 + "\": executable file not found in $PATH", ENOENT);
}

namespace {

// The container's /etc/passwd: resolved inside our root, a regular file of
// bounded size opened without blocking (a FIFO planted there must not hang
// the init or `exec`); test builds may read it by path (in-root-lookups).
bool read_passwd(std::string &out) {
    if (unsafe::off("in-root-lookups")) return try_read_file("/etc/passwd", out);
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    return root && inroot::read_regular(root.get(), "/etc/passwd", 4 << 20, out);
}

}  // namespace

void add_home(std::vector<std::string> &env, uid_t uid) {
    for (auto &e : env)
        if (e.rfind("HOME=", 0) == 0) return;
    std::string home = "/", passwd;
    if (read_passwd(passwd)) {
        // name:x:uid:gid:gecos:home:shell
        size_t pos = 0;
        while (pos < passwd.size()) {
            size_t end = passwd.find('\n', pos);
            std::string line = passwd.substr(pos, end - pos);
            pos = end == std::string::npos ? passwd.size() : end + 1;
            std::vector<std::string> f;
            size_t s = 0;
            for (;;) {
                size_t c = line.find(':', s);
                f.push_back(line.substr(s, c - s));
                if (c == std::string::npos) break;
                s = c + 1;
            }
            if (f.size() >= 6 && f[2] == std::to_string(uid)) {
                home = f[5];
                break;
            }
        }
    }
    env.push_back("HOME=" + home);
}

void close_fds_except(int from, std::vector<int> keep) {
    std::sort(keep.begin(), keep.end());
    unsigned next = static_cast<unsigned>(from);
    for (int k : keep) {
        if (k < from || static_cast<unsigned>(k) < next) continue;
        if (static_cast<unsigned>(k) > next && ::syscall(SYS_close_range, next, k - 1, 0) < 0)
            throw_errno("close inherited file descriptors");
        next = static_cast<unsigned>(k) + 1;
    }
    if (::syscall(SYS_close_range, next, ~0U, 0) < 0) throw_errno("close inherited file descriptors");
}

void verify_cwd() {
    // getcwd(2) marks a directory outside our root "(unreachable)"; glibc's
    // getcwd(3) turns that into ENOENT. One syscall, as runc 1.1.12 does.
    char buf[PATH_MAX];
    if (::getcwd(buf, sizeof buf)) {
        if (buf[0] == '/') return;
    } else if (errno != ENOENT) {
        throw_errno("verify the current working directory");
    }
    throw Error("current working directory is outside of container mount namespace root -- possible container breakout detected");
}

}  // namespace kiln::process
