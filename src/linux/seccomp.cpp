// linux.seccomp through libseccomp: default action, architectures, flags,
// per-syscall rules with argument conditions. Unknown syscall names are
// skipped as runc does. SCMP_ACT_NOTIFY: the listener fd goes to the runtime,
// which hands it to the agent at linux.seccomp.listenerPath.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

#include "kiln/error.hpp"
#include "linux/process.hpp"
#include "linux/terminal.hpp"
#include "spec/tables.hpp"
#include "util/fd.hpp"

namespace kiln::process {
namespace {

namespace tables = spec::tables;
constexpr unsigned long kWaitKillableRecv = SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;

uint32_t action_of(const std::string &name, const std::optional<uint32_t> &errno_ret) {
    const tables::Entry *a = tables::find(tables::kSeccompActions, name);
    if (!a) throw Error("seccomp: unknown action \"" + name + "\"");
    uint32_t action = static_cast<uint32_t>(a->value);
    return tables::action_takes_ret(action) ? action | (errno_ret.value_or(EPERM) & 0x0000ffffU) : action;
}

scmp_compare op_of(const std::string &op) {
    const tables::Entry *o = tables::find(tables::kSeccompOperators, op);
    if (!o) throw Error("seccomp: unknown operator \"" + op + "\"");
    return static_cast<scmp_compare>(o->value);
}

void add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const std::vector<scmp_arg_cmp> &args,
              const std::string &name) {
    int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()), args.data());
    // -EACCES: the rule repeats the default action, which libseccomp refuses.
    if (rc < 0 && rc != -EACCES && rc != -EEXIST)
        throw Error("seccomp: add rule for " + name + ": " + std::strerror(-rc), -rc);
}

// ------------------------------------------------- what libseccomp can take
// libseccomp 2.5 builds one decision tree per syscall, and its BPF for a
// syscall grows exponentially with the conditions after the first of each
// rule there when they compare other than SCMP_CMP_EQ (three six-condition
// SCMP_CMP_NE rules: 1.3 s to export, four: minutes), and more than linearly
// with the syscalls that have such rules (two six-condition SCMP_CMP_NE rules
// on each of 8 syscalls: 2.3 s, on 21: 52 s). Two rules that share a
// leading non-EQ comparison and go on differently send seccomp_rule_add_array
// into a loop that never ends (tests/fuzz/corpus/seccomp/
// regress-libseccomp-slow-rule-add.json). Such a profile is refused before
// libseccomp sees it. The limits are far above real profiles
// (containers-common's default: at most 5 conditional rules on one syscall
// with 1 condition beyond each rule's first, 1 such in all, 10 conditions in
// all); the largest profiles they allow build in about 0.1 s.
constexpr size_t kMaxRulesPerSyscall = 32;
constexpr size_t kMaxExtraArgsPerSyscall = 10;
constexpr size_t kMaxExtraArgsTotal = 32;
constexpr size_t kMaxArgsTotal = 256;

struct PlacedRule {
    size_t index;                     // in linux.seccomp.syscalls
    std::vector<scmp_arg_cmp> args;  // by argument, as libseccomp chains them
};

bool same_cmp(const scmp_arg_cmp &a, const scmp_arg_cmp &b) {
    return a.arg == b.arg && a.op == b.op && a.datum_a == b.datum_a && a.datum_b == b.datum_b;
}

// The pair libseccomp 2.5.4 loops on: the same conditions up to one other
// than EQ / MASKED_EQ, and both rules go on after it.
bool loops_libseccomp(const std::vector<scmp_arg_cmp> &a, const std::vector<scmp_arg_cmp> &b) {
    size_t k = 0;
    while (k < a.size() && k < b.size() && same_cmp(a[k], b[k])) ++k;
    if (k == 0 || k == a.size() || k == b.size()) return false;
    return a[k - 1].op != SCMP_CMP_EQ && a[k - 1].op != SCMP_CMP_MASKED_EQ;
}

class RuleBudget {
  public:
    // Throws, naming linux.seccomp.syscalls[index], when the conditional
    // rule `args` for syscall `nr` would be one too many for libseccomp.
    void take(size_t index, int nr, const std::string &name, std::vector<scmp_arg_cmp> args) {
        if (args.empty()) return;
        std::string where = "seccomp: linux.seccomp.syscalls[" + std::to_string(index) + "]";
        std::sort(args.begin(), args.end(), [](auto &x, auto &y) { return x.arg < y.arg; });
        auto &placed = by_syscall_[nr];
        size_t extra = args.size() - 1;
        for (auto &p : placed) {
            extra += p.args.size() - 1;
            if (loops_libseccomp(p.args, args))
                throw Error(where + ".args: the conditions on " + name + " share a leading comparison (not SCMP_CMP_EQ "
                            "or SCMP_CMP_MASKED_EQ) with linux.seccomp.syscalls[" + std::to_string(p.index) +
                            "].args and then differ; libseccomp 2.5 cannot build that filter");
        }
        if (placed.size() + 1 > kMaxRulesPerSyscall)
            throw Error(where + ": more than " + std::to_string(kMaxRulesPerSyscall) + " conditional rules for " + name);
        if (extra > kMaxExtraArgsPerSyscall)
            throw Error(where + ".args: more than " + std::to_string(kMaxExtraArgsPerSyscall) +
                        " argument conditions for " + name + " besides the first of each rule");
        extra_ += args.size() - 1;
        if (extra_ > kMaxExtraArgsTotal)
            throw Error(where + ".args: more than " + std::to_string(kMaxExtraArgsTotal) +
                        " argument conditions in the profile besides the first of each rule");
        total_ += args.size();
        if (total_ > kMaxArgsTotal)
            throw Error(where + ".args: more than " + std::to_string(kMaxArgsTotal) + " argument conditions in the profile");
        placed.push_back({index, std::move(args)});
    }

  private:
    std::map<int, std::vector<PlacedRule>> by_syscall_;
    size_t extra_ = 0;
    size_t total_ = 0;
};

bool uses_notify(const spec::Seccomp &s) {
    for (auto &rule : s.syscalls)
        if (rule.action == "SCMP_ACT_NOTIFY") return true;
    return false;
}

// The runtime connects to the agent; until it says go, a notified syscall
// would block with nobody to answer it.
void hand_over_listener(int sync_fd, int notify_fd) {
    if (sync_fd < 0) throw Error("seccomp: SCMP_ACT_NOTIFY needs the runtime to pass the listener on");
    bool sent = sync::send(sync_fd, sync::Msg::SeccompFd, {}, {notify_fd});
    ::close(notify_fd);
    if (!sent) throw_errno("send the seccomp listener to the runtime");
    if (sync::wait(sync_fd) != sync::Msg::Go) ::_exit(1);  // the runtime is gone or failed: it reports why
}

// ------------------------------------------------------------ -ENOSYS stub
// As runc's patchbpf: a syscall newer than every one the profile names (per
// architecture) gets ENOSYS instead of the default action, so that programs
// fall back from syscalls the profile's author could not know about (clone3
// to clone, ...). Not for a permissive default (allow, log, trace).
bool wants_enosys_stub(const spec::Seccomp &s) {
    const std::string &d = s.defaultAction;
    if (d == "SCMP_ACT_ALLOW" || d == "SCMP_ACT_LOG" || d == "SCMP_ACT_TRACE") return false;
    return !(s.defaultErrnoRet && *s.defaultErrnoRet == ENOSYS);
}

constexpr uint32_t kX32Bit = 0x40000000;

struct ArchMax {
    int64_t main = -1;  // largest syscall named, -1: the arch is not in the profile
    int64_t x32 = -1;   // x86_64's x32 ABI (nr | kX32Bit)
};

// Largest syscall number the profile names, per audit arch of its architectures.
std::map<uint32_t, ArchMax> last_syscalls(const spec::Seccomp &s, const std::vector<uint32_t> &arches) {
    std::map<uint32_t, ArchMax> out;
    for (uint32_t arch : arches) {
        int64_t largest = -1;
        for (auto &rule : s.syscalls)
            for (auto &name : rule.names) largest = std::max<int64_t>(largest, seccomp_syscall_resolve_name_arch(arch, name.c_str()));
        if (largest < 0) continue;
        if (arch == SCMP_ARCH_X32)
            out[AUDIT_ARCH_X86_64].x32 = largest;
        else
            out[arch].main = largest;
    }
    return out;
}

struct sock_filter stmt(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
struct sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return BPF_JUMP(code, k, jt, jf); }

std::vector<struct sock_filter> enosys_stub(const std::map<uint32_t, ArchMax> &last) {
    const uint32_t arch_off = offsetof(struct seccomp_data, arch), nr_off = offsetof(struct seccomp_data, nr);
    const auto enosys = stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
    std::vector<struct sock_filter> p;
    for (auto &[audit, m] : last) {
        p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, arch_off));
        if (audit != AUDIT_ARCH_X86_64) {  // 5 instructions: arch? nr > max? ENOSYS
            p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, audit, 0, 3));
            p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, nr_off));
            p.push_back(jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(m.main), 0, 1));
            p.push_back(enosys);
            continue;
        }
        // x86_64 and x32 share the audit arch; x32 numbers carry kX32Bit. An
        // ABI the profile lacks is left to libseccomp (its bad-arch action).
        p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, audit, 0, 5));
        p.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, nr_off));
        p.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, 1, 0));
        p.push_back(m.main >= 0 ? jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(m.main), 1, 2)
                                : stmt(BPF_JMP | BPF_JA, 2));
        p.push_back(m.x32 >= 0 ? jump(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(m.x32), 0, 1)
                               : stmt(BPF_JMP | BPF_JA, 1));
        p.push_back(enosys);
    }
    return p;  // falls through into libseccomp's program
}

bool has_flag(const spec::Seccomp &s, std::string_view flag) {
    return std::find(s.flags.begin(), s.flags.end(), flag) != s.flags.end();
}

// A flag libseccomp has no attribute for (WAIT_KILLABLE_RECV in 2.5): such
// a filter is loaded here with seccomp(2) rather than by seccomp_load.
bool has_kernel_only_flag(const spec::Seccomp &s) {
    for (auto &f : s.flags)
        if (const tables::SeccompFlag *t = tables::find(tables::kSeccompFlags, f); t && !t->attr) return true;
    return false;
}

// The flags for seccomp(2). A kernel that does not know one refuses it
// (EINVAL), never ignores it.
unsigned filter_flags(const spec::Seccomp &s) {
    unsigned flags = uses_notify(s) ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
    for (auto &f : tables::kSeccompFlags)
        if (has_flag(s, f.name)) flags |= static_cast<unsigned>(f.value);
    // With a listener, TSYNC is refused unless a thread that cannot sync
    // fails the call with ESRCH (libseccomp does the same).
    if ((flags & SECCOMP_FILTER_FLAG_TSYNC) && (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
        flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    return flags;
}

// libseccomp's program, with the stub in front where one is wanted, loaded
// with seccomp(2). Returns the listener fd with SCMP_ACT_NOTIFY, else -1.
int load_with_stub(scmp_filter_ctx ctx, const spec::Seccomp &s, const std::vector<uint32_t> &arches, bool with_stub) {
    UniqueFd mem(static_cast<int>(::syscall(SYS_memfd_create, "kiln-seccomp", MFD_CLOEXEC)));
    if (!mem) throw_errno("seccomp: memfd_create");
    int rc = seccomp_export_bpf(ctx, mem.get());
    if (rc < 0) throw Error(std::string("seccomp: export the filter: ") + std::strerror(-rc), -rc);
    off_t size = ::lseek(mem.get(), 0, SEEK_END);
    std::vector<struct sock_filter> prog;
    if (with_stub) prog = enosys_stub(last_syscalls(s, arches));
    size_t stub = prog.size();
    prog.resize(stub + static_cast<size_t>(size) / sizeof(struct sock_filter));
    if (size < 0 || ::pread(mem.get(), prog.data() + stub, static_cast<size_t>(size), 0) != size)
        throw_errno("seccomp: read the exported filter");
    if (prog.size() > BPF_MAXINSNS) throw Error("seccomp: the filter is too long (" + std::to_string(prog.size()) + " instructions)");
    unsigned flags = filter_flags(s);
    struct sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
    long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
    if (fd < 0 && errno == EINVAL && (flags & kWaitKillableRecv) && !seccomp_wait_killable_supported())
        throw Error("seccomp: load the filter: this kernel does not take SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV "
                    "(Linux 5.19 or newer): " + std::string(std::strerror(EINVAL)), EINVAL);
    if (fd < 0) throw_errno("seccomp: load the filter");
    return uses_notify(s) ? static_cast<int>(fd) : -1;
}

// arch_of: libseccomp's token for an "SCMP_ARCH_X86_64"-style name, 0 when
// the name is not one of the table's.
uint32_t arch_of(const std::string &a) {
    const tables::Entry *e = tables::find(tables::kSeccompArchs, a);
    return e ? static_cast<uint32_t>(e->value) : 0;
}

std::vector<uint32_t> known_arches(const spec::Seccomp &s) {
    std::vector<uint32_t> arches;
    for (auto &a : s.architectures)
        if (uint32_t arch = arch_of(a)) arches.push_back(arch);
    return arches;
}

}  // namespace

void set_seccomp_attr(void *ctx, int attr, uint32_t value, const char *name) {
    int rc = seccomp_attr_set(ctx, static_cast<scmp_filter_attr>(attr), value);
    if (rc < 0) throw Error(std::string("seccomp: set filter attribute ") + name + ": " + std::strerror(-rc), -rc);
}

// The kernel checks the flags before it reads the program: valid ones get
// EFAULT for a null program, unknown ones EINVAL (as libseccomp probes them).
bool seccomp_flag_supported(uint64_t flag) {
    static std::map<uint64_t, bool> known;
    auto it = known.find(flag);
    if (it != known.end()) return it->second;
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER | flag, nullptr);
    return known[flag] = rc < 0 && errno == EFAULT;
}

bool seccomp_wait_killable_supported() { return seccomp_flag_supported(kWaitKillableRecv); }

SeccompFilter build_seccomp(const spec::Seccomp &s, bool no_new_privs) {
    SeccompFilter ctx(seccomp_init(action_of(s.defaultAction, s.defaultErrnoRet)), seccomp_release);
    if (!ctx) throw Error("seccomp: cannot initialise the filter");
    // libseccomp sets no_new_privs by default; the config decides (we hold
    // CAP_SYS_ADMIN when it is off).
    set_seccomp_attr(ctx.get(), SCMP_FLTATR_CTL_NNP, no_new_privs ? 1 : 0, "SCMP_FLTATR_CTL_NNP");
    for (auto &a : s.architectures) {
        uint32_t arch = arch_of(a);
        if (arch == 0) continue;  // unknown to this libseccomp
        int rc = seccomp_arch_add(ctx.get(), arch);
        if (rc < 0 && rc != -EEXIST) throw Error("seccomp: add architecture " + a + ": " + std::strerror(-rc));
    }
    for (auto &f : s.flags) {
        const tables::SeccompFlag *t = tables::find(tables::kSeccompFlags, f);
        if (!t) throw Error("seccomp: flag " + f + " is not supported");
        // No attribute: seccomp(2)'s own, see filter_flags.
        if (t->attr) set_seccomp_attr(ctx.get(), t->attr, 1, t->attr_name);
    }
    RuleBudget budget;
    for (size_t i = 0; i < s.syscalls.size(); ++i) {
        const spec::SeccompSyscall &rule = s.syscalls[i];
        uint32_t action = action_of(rule.action, rule.errnoRet);
        std::vector<scmp_arg_cmp> args;
        bool repeated = false;
        for (auto &a : rule.args) {
            for (auto &prev : args)
                if (prev.arg == a.index) repeated = true;
            args.push_back({a.index, op_of(a.op), a.value, a.valueTwo});
        }
        for (auto &name : rule.names) {
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) continue;
            // libseccomp wants one condition per argument in a rule; runc
            // turns several on one argument into one rule each.
            if (!repeated) {
                budget.take(i, nr, name, args);
                add_rule(ctx.get(), action, nr, args, name);
            } else {
                for (auto &one : args) {
                    budget.take(i, nr, name, {one});
                    add_rule(ctx.get(), action, nr, {one}, name);
                }
            }
        }
    }
    return ctx;
}

void load_seccomp(const spec::Seccomp &s, bool no_new_privs, int sync_fd) {
    SeccompFilter ctx = build_seccomp(s, no_new_privs);
    int fd = -1;
    bool stub = wants_enosys_stub(s);
    if (stub || has_kernel_only_flag(s)) {
        fd = load_with_stub(ctx.get(), s, known_arches(s), stub);
    } else {
        int rc = seccomp_load(ctx.get());
        if (rc < 0) throw Error(std::string("seccomp: load the filter: ") + std::strerror(-rc), -rc);
        if (uses_notify(s)) fd = seccomp_notify_fd(ctx.get());
    }
    if (uses_notify(s)) {
        if (fd < 0) throw Error("seccomp: no listener fd for SCMP_ACT_NOTIFY");
        hand_over_listener(sync_fd, fd);
    }
}

}  // namespace kiln::process
