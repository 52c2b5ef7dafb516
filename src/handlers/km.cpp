// The Kontain KM handler (issue #7). Triggers, any one of them (never for a
// Kubernetes sandbox container):
//   * kiln invoked as `kiln-km` or with --km;
//   * the annotation run.oci.handler=km;
//   * invoked as `kiln-km-label` (or --km-label) and the annotation app.kontain.version=1
//     or the marker /.kontain in the image (krun's label trigger);
//   * the host config file (/etc/kiln/km.json or --km-config) says "all_containers": true.
// What it does:
//   * spec: the host's /dev/kvm and/or /dev/kkm as devices with rwm cgroup
//     rules (bound from the host instead in a user namespace), and the
//     annotation run.oci.handler=km, which the state keeps;
//   * before pivot_root: km (checked against km_sha256) bound read-only at
//     /opt/kontain/bin/km; a missing mount point is made inside an overlay
//     over the nearest existing directory, so the image is not written to;
//   * argv: the payload resolved in the container runs as [km, /abs/payload, args...];
//   * exec: through km as well, or natively when a host allowlist (native_exec,
//     then krun's /var/lib/krun/config) names the tool (digest checked), or
//     refused ("exec_unlisted": "refuse").
// km's control variables are removed from the environment in all cases.
#include "handlers/km.hpp"

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <cstring>

#include "container/state.hpp"
#include "handlers/handler.hpp"
#include "handlers/km_snapshot.hpp"
#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "linux/rootfs.hpp"
#include "util/fd.hpp"
#include "util/sha256.hpp"
#include "util/unsafe.hpp"
#include "linux/inroot.hpp"
#include "linux/sealed.hpp"

namespace kiln::handlers {
namespace km {

namespace {

bool is_sha256(const std::string &s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::regex compile(const std::string &re, const std::function<Error(const std::string &)> &bad) {
    try {
        return std::regex(re, std::regex::extended);
    } catch (const std::regex_error &e) {
        throw bad("bad regular expression \"" + re + "\": " + e.what());
    }
}

}  // namespace

Config parse_config(std::string_view text, const std::string &file) {
    auto doc = json::Doc::parse(text, file);
    auto bad = [&](const std::string &what) { return Error("km config " + file + ": " + what); };
    Config c;
    c.file = file;
    c.km = doc.get_string({"km"}, c.km);
    if (c.km.empty() || c.km[0] != '/') throw bad("km: must be an absolute path");
    c.km_sha256 = doc.get_string({"km_sha256"});
    if (!c.km_sha256.empty() && !is_sha256(c.km_sha256))
        throw bad("km_sha256: must be 64 lowercase hex digits");
    if (doc.has({"devices"})) {
        c.devices.clear();
        if (!doc.get_string_array({"devices"}, c.devices)) throw bad("devices: must be an array of paths");
        for (auto &d : c.devices)
            if (d.empty() || d[0] != '/' || d.back() == '/') throw bad("devices: \"" + d + "\" is not an absolute path");
    }
    // A quoted "true" must not read as false: only JSON booleans are taken.
    auto flag = [&](const char *key) {
        if (!doc.has({key})) return false;
        bool v = doc.get_bool({key}, false);
        if (v != doc.get_bool({key}, true)) throw bad(std::string(key) + ": must be true or false");
        return v;
    };
    c.all_containers = flag("all_containers");
    c.preload = flag("preload");
    c.snapshots = flag("snapshots");
    std::string unlisted = doc.get_string({"exec_unlisted"}, "km");
    if (unlisted != "km" && unlisted != "refuse") throw bad("exec_unlisted: must be \"km\" or \"refuse\"");
    c.refuse_unlisted_exec = unlisted == "refuse";
    if (doc.has({"allow_env"}) && !doc.get_string_array({"allow_env"}, c.allow_env))
        throw bad("allow_env: must be an array of names");
    c.krun_allowlist = doc.get_string({"krun_config"}, c.krun_allowlist);
    if (!c.krun_allowlist.empty() && c.krun_allowlist[0] != '/') throw bad("krun_config: must be an absolute path (or \"\")");
    std::vector<std::vector<std::pair<std::string, std::string>>> tools;
    if (doc.has({"native_exec"}) && !doc.get_object_array({"native_exec"}, tools))
        throw bad("native_exec: must be an array of {match, path, sha256}");
    for (size_t i = 0; i < tools.size(); i++) {
        NativeTool t;
        for (auto &[k, v] : tools[i]) (k == "match" ? t.match : k == "path" ? t.path : k == "sha256" ? t.sha256 : t.match) = v;
        std::string where = "native_exec[" + std::to_string(i) + "]";
        if (t.match.empty() || t.path.empty() || t.path[0] != '/' || t.sha256.size() != 64)
            throw bad(where + ": needs match, an absolute path and a 64-digit sha256");
        t.re = compile(t.match, [&](const std::string &what) { return bad(where + ".match: " + what); });
        c.native.push_back(std::move(t));
    }
    return c;
}

std::vector<NativeTool> parse_krun_allowlist(std::string_view text, const std::string &file) {
    std::vector<NativeTool> out;
    size_t line_no = 0;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string line(text.substr(pos, end - pos));
        pos = end + 1;
        line_no++;
        if (line.empty() || line[0] == '#') continue;
        auto bad = [&](const std::string &what) {
            return Error("krun allowlist " + file + ":" + std::to_string(line_no) + ": " + what);
        };
        auto c1 = line.find(':'), c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
        if (c2 == std::string::npos || line.find(':', c2 + 1) != std::string::npos)
            throw bad("want regex:path:sha256, got \"" + line + "\"");
        NativeTool t;
        t.match = line.substr(0, c1);
        t.path = line.substr(c1 + 1, c2 - c1 - 1);
        t.sha256 = line.substr(c2 + 1);
        if (t.match.empty() || t.path.empty() || t.path[0] != '/' || !is_sha256(t.sha256))
            throw bad("needs a regex, an absolute path and a sha256 of 64 lowercase hex digits");
        t.re = compile(t.match, bad);
        out.push_back(std::move(t));
    }
    return out;
}

std::vector<std::string> km_argv(const std::string &payload, const std::vector<std::string> &argv) {
    if (payload == kKmPath) return argv;
    std::vector<std::string> out{kKmPath, payload};
    out.insert(out.end(), argv.begin() + (argv.empty() ? 0 : 1), argv.end());
    bool shim = out[1] == "/sbin/docker-init" || out[1] == "/dev/init";
    if (shim && out.size() > 3 && out[2] == "--" && out[3] == kKmPath) out.erase(out.begin() + 3);
    return out;
}

bool is_km_control_var(std::string_view name) {
    static constexpr std::string_view kNames[] = {"KM_VERBOSE", "KM_LOGTO", "KM_MGTPIPE", "KM_MGTDIR",
                                                  "KM_KILL_UNIMPL_SCALL", "SNAP_LISTEN_TIMEOUT"};
    if (name.substr(0, 8) == "KM_EXEC_") return true;
    for (auto n : kNames)
        if (name == n) return true;
    return false;
}

void scrub_env(std::vector<std::string> &env, const std::vector<std::string> &allow) {
    auto allowed = [&](std::string_view name) {
        for (std::string_view a : allow) {
            if (!a.empty() && a.back() == '*' ? name.substr(0, a.size() - 1) == a.substr(0, a.size() - 1) : name == a)
                return true;
        }
        return false;
    };
    std::erase_if(env, [&](const std::string &e) {
        std::string_view name = std::string_view(e).substr(0, e.find('='));
        return is_km_control_var(name) && !allowed(name);
    });
}

const NativeTool *find_native(const Config &c, const std::string &path) {
    for (auto &t : c.native)
        if (std::regex_match(path, t.re)) return &t;
    return nullptr;
}

}  // namespace km

namespace {

using namespace km;

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void do_mount(const char *src, const std::string &dst, const char *type, unsigned long flags, const char *data,
              const std::string &what) {
    if (::mount(src, dst.c_str(), type, flags, data) < 0) throw_errno("km handler: mount " + what);
}

bool has_namespace(const spec::Spec &spec, const char *type) {
    if (!spec.linux) return false;
    for (auto &n : spec.linux->namespaces)
        if (n.type == type) return true;
    return false;
}

std::string annotation(const std::map<std::string, std::string> &a, const char *key) {
    auto it = a.find(key);
    return it == a.end() ? std::string() : it->second;
}

// A Kubernetes sandbox (pause) container never runs under km. The
// annotations alone do not prove that: a pod spec or image could carry
// them. The engine's own marks are consistent: containerd's CRI sets
// io.kubernetes.cri.container-type=sandbox together with
// io.kubernetes.cri.sandbox-id = the sandbox id, which is the id of the
// sandbox container itself; CRI-O likewise with io.kubernetes.cri-o.ContainerType
// and io.kubernetes.cri-o.SandboxID. An app container of the pod has the
// pod's sandbox id there, never its own id, so only the real sandbox
// container passes.
bool is_sandbox(const std::map<std::string, std::string> &a, const std::string &id) {
    bool loose = unsafe::off("km-sandbox-rule");  // test builds: the annotation alone
    auto marked = [&](const char *type_key, const char *id_key) {
        return annotation(a, type_key) == "sandbox" && (loose || (!id.empty() && annotation(a, id_key) == id));
    };
    return marked("io.kubernetes.cri.container-type", "io.kubernetes.cri.sandbox-id") ||
           marked("io.kubernetes.cri-o.ContainerType", "io.kubernetes.cri-o.SandboxID");
}

std::string absolute(const std::string &path) {
    if (!path.empty() && path[0] == '/') return path;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) throw_errno("getcwd");
    std::string base = cwd;
    std::string p = path.rfind("./", 0) == 0 ? path.substr(2) : path;
    return (base == "/" ? "" : base) + "/" + p;
}

// Creates the missing mount point of km without writing to the image: an
// overlay (upper layer on a private tmpfs) over the nearest existing
// directory on the way to /opt/kontain/bin. An image without /opt gets an
// empty /opt directory as its mount point (nothing else; documented).
// Trade-off: what the container writes under that directory goes to the
// tmpfs (memory charged to the container), not to its rootfs.
void make_km_mountpoint(int root) {
    std::string dir;
    for (const char *d : {"/opt/kontain/bin", "/opt/kontain", "/opt"}) {
        try {
            rootfs::open_in_root(root, d, false, false);
            dir = d;
            break;
        } catch (const Error &e) {
            if (e.code() != ENOENT) throw;
        }
    }
    if (dir.empty()) {
        rootfs::open_in_root(root, "/opt", true, false);
        dir = "/opt";
    }
    UniqueFd lower = rootfs::open_in_root(root, dir, false, false);
    struct stat st;
    if (::fstat(lower.get(), &st) < 0 || !S_ISDIR(st.st_mode)) throw Error("km handler: " + dir + " in the image is not a directory");
    do_mount("tmpfs", fd_path(lower.get()), "tmpfs", MS_NOSUID | MS_NODEV, "mode=755", dir + " (tmpfs)");
    UniqueFd top = rootfs::open_in_root(root, dir, false, false);
    if (::mkdirat(top.get(), "upper", 0755) < 0 || ::mkdirat(top.get(), "work", 0755) < 0)
        throw_errno("km handler: mkdir in the tmpfs over " + dir);
    // The fd opened before the tmpfs still names the image's directory.
    std::string data = "lowerdir=" + fd_path(lower.get()) + ",upperdir=" + fd_path(top.get()) +
                       "/upper,workdir=" + fd_path(top.get()) + "/work";
    do_mount("overlay", fd_path(top.get()), "overlay", 0, data.c_str(), dir + " (overlay)");
    rootfs::open_in_root(root, kKmPath, true, true);
}

// km bound read-only at /opt/kontain/bin/km (krun's bind was writable).
void mount_km(const std::string &rootfs_path, int km_fd) {
    UniqueFd root(::open(rootfs_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("open " + rootfs_path);
    UniqueFd target;
    try {
        target = rootfs::open_in_root(root.get(), kKmPath, false, false);
    } catch (const Error &e) {
        if (e.code() != ENOENT) throw;
        make_km_mountpoint(root.get());
        target = rootfs::open_in_root(root.get(), kKmPath, false, false);
    }
    struct stat st;
    if (::fstat(target.get(), &st) < 0 || !S_ISREG(st.st_mode))
        throw Error(std::string("km handler: ") + kKmPath + " in the image is not a regular file");
    do_mount(fd_path(km_fd).c_str(), fd_path(target.get()), nullptr, MS_BIND, nullptr, kKmPath);
    target = rootfs::open_in_root(root.get(), kKmPath, false, false);  // the bind mount on top
    // Flags locked by the source mount (in a user namespace) must be kept.
    unsigned long keep = 0;
    struct statvfs vfs;
    if (::fstatvfs(km_fd, &vfs) == 0) {
        if (vfs.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
        if (vfs.f_flag & ST_NOATIME) keep |= MS_NOATIME;
        if (vfs.f_flag & ST_NODIRATIME) keep |= MS_NODIRATIME;
        if (vfs.f_flag & ST_RELATIME) keep |= MS_RELATIME;
    }
    do_mount(nullptr, fd_path(target.get()), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | keep,
             nullptr, std::string(kKmPath) + " (read-only)");
}

// Set on preloaded containers: `start` sends SIGUSR1 instead of reading exec.fifo.
constexpr const char *kPreloadAnnotation = "io.kiln.km.preload";

// km has loaded everything and waits for SIGUSR1: it is blocked (SigBlk),
// or km sits in sigwait, during which the kernel shows the waited-for
// signals as unblocked (rt_sigtimedwait moves them to real_blocked). Either
// way a SIGUSR1 sent now is taken by sigwait, never fatal, never lost.
bool parked(int pid, bool &alive) {
    std::string status;
    alive = try_read_file("/proc/" + std::to_string(pid) + "/status", status);
    if (!alive) return false;
    auto state = status.find("\nState:\t");
    if (state != std::string::npos && (status[state + 8] == 'Z' || status[state + 8] == 'X')) alive = false;
    auto blk = status.find("\nSigBlk:\t");
    if (!alive || blk == std::string::npos) return false;
    unsigned long long mask = std::strtoull(status.c_str() + blk + 9, nullptr, 16);
    if (mask & (1ULL << (SIGUSR1 - 1))) return true;
    std::string sc;  // "NR arg1 ..." while in a system call
    return try_read_file("/proc/" + std::to_string(pid) + "/syscall", sc) &&
           std::strtol(sc.c_str(), nullptr, 10) == SYS_rt_sigtimedwait;
}

class KmHandler : public Handler {
public:
    KmHandler(Config c, bool create, std::string resume = {})
        : cfg_(std::move(c)), create_(create), resume_(std::move(resume)) {}
    const char *name() const override { return "km"; }

    void edit_spec(spec::Spec &spec) override {
        if (!has_namespace(spec, "mount")) throw Error("km handler: the container needs its own mount namespace");
        open_km();
        km_exec_fd_ = sealed::readonly_view(km_fd_.get(), "km");
        add_devices(spec);
        spec.annotations[kHandlerAnnotation] = "km";
        mgmt_ = cfg_.snapshots && snapshots_possible(spec);
        // restore: km resumes the snapshot, bound read-only into the container.
        if (!resume_.empty()) spec.mounts.push_back({kResumePath, "bind", resume_, {"bind", "ro", "nosuid", "nodev", "noexec"}, {}, {}});
        // startContainer hooks must run after `start` but before the
        // payload: only the exec.fifo path can do that.
        preload_ = cfg_.preload && create_ && spec.process && (!spec.hooks || spec.hooks->startContainer.empty());
        if (preload_) spec.annotations[kPreloadAnnotation] = "true";
    }

    bool exec_at_create() const override { return preload_; }

    // km blocks SIGUSR1 only after loading the payload: until then a
    // SIGUSR1 would kill it, so create must not return earlier (the runk race).
    void wait_parked(int pid) override {
        if (!preload_) return;
        for (int i = 0; i < 20000; i++) {
            bool alive = true;
            if (parked(pid, alive)) return;
            if (!alive) throw Error("km handler: km exited before it parked (--wait-for-signal)");
            ::usleep(500);
        }
        throw Error("km handler: km did not park (--wait-for-signal) within 10 s");
    }

    std::vector<int> init_fds() const override { return {km_fd_.get(), km_exec_fd_.get()}; }
    // km_fd_ belongs to the runtime's mount namespace, which cannot be a bind
    // source here: reopen km by path in ours and make sure it is the same file.
    void before_pivot(const spec::Spec &, const std::string &rootfs) override {
        UniqueFd km(::open(cfg_.km.c_str(), O_PATH | O_CLOEXEC));
        struct stat a, b;
        if (!km || ::fstat(km.get(), &a) < 0 || ::fstat(km_fd_.get(), &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
            throw Error("km handler: km " + cfg_.km + " changed while the container was being created");
        mount_km(rootfs, km.get());
    }

    // km's management socket goes into a directory of the process user.
    void after_pivot(const spec::Spec &spec) override {
        if (mgmt_) prepare_mgmt_dir(spec);
    }

    // km itself runs from the read-only view opened on the host, never by
    // its path in the container, which the container could replace.
    void container_process(std::string &exe, int &exe_fd, std::vector<std::string> &argv,
                           std::vector<std::string> &env) override {
        scrub_env(env, cfg_.allow_env);
        std::string payload = absolute(exe);
        argv = resume_.empty() ? km_argv(payload, argv) : std::vector<std::string>{kKmPath, kResumePath};
        exe = kKmPath;
        exe_fd = km_fd_for_exec();
        if (mgmt_) argv.insert(argv.begin() + 1, std::string("--mgtpipe=") + kMgmtSocket);
        if (preload_) argv.insert(argv.begin() + 1, "--wait-for-signal");
    }

    // On the host, before the exec child enters the container: the same km
    // create checked, opened again and checked again.
    void prepare_exec() override {
        open_km();
        km_exec_fd_ = sealed::readonly_view(km_fd_.get(), "km");
        add_krun_allowlist();
    }

    void exec_process(std::string &exe, int &exe_fd, std::vector<std::string> &argv,
                      std::vector<std::string> &env) override {
        scrub_env(env, cfg_.allow_env);
        std::string payload = absolute(exe);
        if (payload == kKmPath) {
            exe_fd = km_fd_for_exec();
            return;
        }
        if (const NativeTool *t = find_native(cfg_, payload)) {
            native_fd_ = native_copy(*t, payload);
            exe = t->path;
            exe_fd = native_fd_.get();
            return;
        }
        if (cfg_.refuse_unlisted_exec)
            throw Error("km handler: exec of " + payload + " refused: not in the native_exec allowlist of " +
                        config_name() + (krun_read_ ? " nor in " + cfg_.krun_allowlist : std::string()) +
                        ", and exec_unlisted is \"refuse\" (run km payloads as " + kKmPath + " PAYLOAD)");
        argv = km_argv(payload, argv);
        exe = kKmPath;
        exe_fd = km_fd_for_exec();
    }

private:
    Config cfg_;
    bool create_ = false, preload_ = false, mgmt_ = false;
    std::string resume_;  // restore of a KM snapshot: its host path
    UniqueFd km_fd_;  // verified km; the init binds this very file
    UniqueFd km_exec_fd_;  // a read-only view of km_fd_'s file: what runs
    UniqueFd native_fd_;   // exec: the sealed copy of an allowlisted tool
    bool krun_read_ = false;  // krun's allowlist file was there (and is in cfg_.native)

    // On the host: krun's file, when there is one, after native_exec's entries.
    void add_krun_allowlist() {
        if (cfg_.krun_allowlist.empty()) return;
        std::string text;
        UniqueFd fd(::open(cfg_.krun_allowlist.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            if (errno == ENOENT) return;
            throw_errno("km handler: krun allowlist " + cfg_.krun_allowlist);
        }
        for (auto &t : parse_krun_allowlist(read_fd(fd.get()), cfg_.krun_allowlist)) cfg_.native.push_back(std::move(t));
        krun_read_ = true;
    }

    // Test builds (KILN_UNSAFE=km-exec-fd): km by its path in the container.
    int km_fd_for_exec() const { return unsafe::off("km-exec-fd") ? -1 : km_exec_fd_.get(); }

    std::string config_name() const { return cfg_.file.empty() ? std::string("(no config file)") : cfg_.file; }

    void open_km() {
        km_fd_.reset(::open(cfg_.km.c_str(), O_RDONLY | O_CLOEXEC));
        if (!km_fd_) throw_errno("km handler: open km " + cfg_.km);
        struct stat st;
        if (::fstat(km_fd_.get(), &st) < 0 || !S_ISREG(st.st_mode)) throw Error("km handler: km " + cfg_.km + " is not a regular file");
        if (cfg_.km_sha256.empty()) return;
        std::string have = sha256_fd(km_fd_.get(), cfg_.km);
        if (have != cfg_.km_sha256)
            throw Error("km handler: km " + cfg_.km + " has sha256 " + have + ", but km_sha256 in " + config_name() +
                        " is " + cfg_.km_sha256 + ": refusing to use it");
    }

    // In the exec child, inside the container: the tool must be what the
    // host config vouches for. It is copied into a sealed memfd while it is
    // hashed, and the copy runs: the container cannot change the file
    // between the check and the exec.
    UniqueFd native_copy(const NativeTool &t, const std::string &payload) const {
        UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        UniqueFd fd(root ? inroot::open(root.get(), t.path, O_RDONLY | O_NONBLOCK | O_NOCTTY) : -1);
        if (!fd) throw_errno("km handler: native exec of " + payload + ": open " + t.path);
        struct stat st;
        if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode))
            throw Error("km handler: native exec of " + payload + ": " + t.path + " is not a regular file");
        Sha256 hash;
        std::string base = t.path.substr(t.path.find_last_of('/') + 1);
        UniqueFd copy = sealed::memfd_copy(fd.get(), base.c_str(), &hash);
        std::string have = hash.hex();
        if (have != t.sha256)
            throw Error("km handler: native exec of " + payload + " refused: " + t.path + " has sha256 " + have +
                        ", the allowlist in " + config_name() + " wants " + t.sha256);
        if (unsafe::off("km-exec-fd")) return UniqueFd();  // test builds: by path, after the check
        return copy;
    }

    void add_devices(spec::Spec &spec) {
        // No mknod in a user namespace (or rootless podman): bind the host's nodes.
        bool bind = has_namespace(spec, "user") ||
                    annotation(spec.annotations, "io.podman.annotations.privileged") == "false";
        if (!spec.linux) spec.linux.emplace();
        auto &lx = *spec.linux;
        int found = 0;
        std::string looked;
        for (auto &host : cfg_.devices) {
            looked += (looked.empty() ? "" : ", ") + host;
            struct stat st;
            if (::stat(host.c_str(), &st) < 0) {
                if (errno == ENOENT) continue;
                throw_errno("km handler: stat " + host);
            }
            if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) throw Error("km handler: " + host + " is not a device node");
            std::string path = "/dev/" + host.substr(host.find_last_of('/') + 1);
            found++;
            std::string type = S_ISCHR(st.st_mode) ? "c" : "b";
            int64_t maj = major(st.st_rdev), min = minor(st.st_rdev);
            if (!lx.resources) lx.resources.emplace();
            lx.resources->devices.push_back({true, type, maj, min, "rwm"});
            if (bind) {
                spec.mounts.push_back({path, "bind", host, {"bind", "nosuid", "noexec"}, {}, {}});
                continue;
            }
            std::erase_if(lx.devices, [&](const spec::Device &d) { return d.path == path; });
            spec::Device d;
            d.type = type;
            d.path = path;
            d.major = maj;
            d.minor = min;
            d.fileMode = st.st_mode & 07777;
            d.uid = st.st_uid;
            d.gid = st.st_gid;
            lx.devices.push_back(d);
        }
        if (!found) throw Error("km handler: no virtualization device on this host (looked for " + looked + ")");
    }
};

Config load_km_config(const std::string &path, bool missing_ok) {
    std::string text;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT && missing_ok) return Config{};
        throw_errno("km config " + path);
    }
    return parse_config(read_fd(fd.get()), path);
}

std::string option(const Globals &g, const char *key) {
    auto it = g.handler_options.find(key);
    return it == g.handler_options.end() ? std::string() : it->second;
}

std::string config_path(const Globals &g) {
    std::string c = option(g, kConfigOption);
    return c.empty() ? kDefaultConfig : c;
}

// Label mode's second trigger: /.kontain in the image (any type; a symlink
// there is not followed). Looked for only in label mode.
bool has_kontain_marker(const spec::Spec &spec, const std::string &bundle) {
    if (!spec.root || spec.root->path.empty()) return false;
    const std::string &p = spec.root->path;
    UniqueFd root(::open((p[0] == '/' ? p : bundle + "/" + p).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat st;
    return root && ::fstatat(root.get(), kKontainMarker, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

// --- the table entry

// Triggers, see the top of the file; nullptr leaves the container to the default handler.
std::unique_ptr<Handler> claim(const Globals &g, const spec::Spec &spec, const std::string &id, bool create,
                               const std::string &bundle) {
    const auto &a = spec.annotations;
    if (is_sandbox(a, id)) return nullptr;
    bool explicit_config = !option(g, kConfigOption).empty();
    bool label = g.handler == "km-label" &&
                 (annotation(a, "app.kontain.version") == "1" || has_kontain_marker(spec, bundle));
    bool fired = g.handler == "km" || annotation(a, kHandlerAnnotation) == "km" || label;
    // An explicit --km-config must exist; the default one may be absent.
    if (fired)
        return std::make_unique<KmHandler>(load_km_config(config_path(g), !explicit_config), create,
                                           option(g, kResumeOption));
    // Label mode: the label alone decides.
    if (g.handler == "km-label") return nullptr;
    // The config file as a trigger: one open() that fails on hosts without km.
    std::string path = config_path(g);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT && !explicit_config) return nullptr;
        throw_errno("km config " + path);
    }
    Config c = parse_config(read_fd(fd.get()), path);
    if (!c.all_containers) return nullptr;
    return std::make_unique<KmHandler>(std::move(c), create, option(g, kResumeOption));
}

std::unique_ptr<Handler> exec_handler(const Globals &g, const std::string &id, const Annotations &a) {
    if (is_sandbox(a, id) || annotation(a, kHandlerAnnotation) != "km") return nullptr;
    return std::make_unique<KmHandler>(load_km_config(config_path(g), option(g, kConfigOption).empty()), false);
}

int release_signal(const Annotations &a) {
    return annotation(a, kHandlerAnnotation) == "km" && annotation(a, kPreloadAnnotation) == "true" ? SIGUSR1 : 0;
}

bool snapshot_if_km(const StoredState &st, const CheckpointOptions &o, bool paused) {
    if (annotation(st.annotations, kHandlerAnnotation) != "km") return false;
    snapshot_checkpoint(st, o, paused);
    return true;
}

bool restore_if_snapshot(const Globals &g, const RestoreOptions &o, int &status) {
    if (!is_snapshot_image(o.image_path)) return false;
    status = snapshot_restore(g, o);
    return true;
}

// Invoked through a link named kiln-km / kiln-km-label (krun used its
// argv[0] the same way); an explicit --km wins over kiln-km-label.
void argv0_alias(std::string_view name, Globals &g) {
    if (name == "kiln-km") g.handler = "km";
    if (name == "kiln-km-label" && g.handler != "km") g.handler = "km-label";
}

const GlobalFlag kFlags[] = {
    {"km", true, "run every container under the Kontain km monitor (as when invoked as kiln-km)",
     [](Globals &g, const std::string &v) {
         if (v == "true") g.handler = "km";
     }},
    {"km-label", true, "km only for containers annotated app.kontain.version=1 or with /.kontain (as kiln-km-label)",
     [](Globals &g, const std::string &v) {
         if (v == "true" && g.handler.empty()) g.handler = "km-label";
     }},
    {"km-config", false, "km handler config file (default: \"/etc/kiln/km.json\")",
     [](Globals &g, const std::string &v) { g.handler_options[kConfigOption] = v; }},
    {nullptr, false, nullptr, nullptr},
};

}  // namespace

namespace km {
const Entry kEntry{"km", claim, exec_handler, release_signal, snapshot_if_km, restore_if_snapshot, argv0_alias, kFlags};
}  // namespace km

}  // namespace kiln::handlers
