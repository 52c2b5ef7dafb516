// linux.seccomp through libseccomp: default action, architectures, flags,
// per-syscall rules with argument conditions. Unknown syscall names are
// skipped as runc does. SCMP_ACT_NOTIFY: the listener fd goes to the runtime,
// which hands it to the agent at linux.seccomp.listenerPath.
#include <seccomp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "kiln/error.hpp"
#include "linux/process.hpp"
#include "linux/terminal.hpp"

namespace kiln::process {
namespace {

uint32_t action_of(const std::string &name, const std::optional<uint32_t> &errno_ret) {
    uint32_t ret = errno_ret.value_or(EPERM);
    if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret);
    if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
    if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret);
    if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
    throw Error("seccomp: unknown action \"" + name + "\"");
}

scmp_compare op_of(const std::string &op) {
    if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
    if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
    if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
    if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
    if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
    if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
    if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
    throw Error("seccomp: unknown operator \"" + op + "\"");
}

void add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const std::vector<scmp_arg_cmp> &args,
              const std::string &name) {
    int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()), args.data());
    // -EACCES: the rule repeats the default action, which libseccomp refuses.
    if (rc < 0 && rc != -EACCES && rc != -EEXIST)
        throw Error("seccomp: add rule for " + name + ": " + std::strerror(-rc), -rc);
}

bool uses_notify(const spec::Seccomp &s) {
    for (auto &rule : s.syscalls)
        if (rule.action == "SCMP_ACT_NOTIFY") return true;
    return false;
}

// The runtime connects to the agent; until it says go, a notified syscall
// would block with nobody to answer it.
void hand_over_listener(int sync_fd, int notify_fd) {
    if (sync_fd < 0) throw Error("seccomp: SCMP_ACT_NOTIFY needs the runtime to pass the listener on");
    terminal::send_fd(sync_fd, notify_fd, std::string_view(&kSeccompFdTag, 1));
    ::close(notify_fd);
    char go = 0;
    ssize_t n;
    do n = ::recv(sync_fd, &go, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(1);  // the runtime is gone or failed: it reports why
}

}  // namespace

void set_seccomp_attr(void *ctx, int attr, uint32_t value, const char *name) {
    int rc = seccomp_attr_set(ctx, static_cast<scmp_filter_attr>(attr), value);
    if (rc < 0) throw Error(std::string("seccomp: set filter attribute ") + name + ": " + std::strerror(-rc), -rc);
}

void load_seccomp(const spec::Seccomp &s, bool no_new_privs, int sync_fd) {
    std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(action_of(s.defaultAction, s.defaultErrnoRet)),
                                                         seccomp_release);
    if (!ctx) throw Error("seccomp: cannot initialise the filter");
    // libseccomp sets no_new_privs by default; the config decides (we hold
    // CAP_SYS_ADMIN when it is off).
    set_seccomp_attr(ctx.get(), SCMP_FLTATR_CTL_NNP, no_new_privs ? 1 : 0, "SCMP_FLTATR_CTL_NNP");
    for (auto &a : s.architectures) {
        std::string name = a.rfind("SCMP_ARCH_", 0) == 0 ? a.substr(10) : a;
        for (auto &ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        uint32_t arch = seccomp_arch_resolve_name(name.c_str());
        if (arch == 0) continue;  // unknown to this libseccomp
        int rc = seccomp_arch_add(ctx.get(), arch);
        if (rc < 0 && rc != -EEXIST) throw Error("seccomp: add architecture " + a + ": " + std::strerror(-rc));
    }
    for (auto &f : s.flags) {
        if (f == "SECCOMP_FILTER_FLAG_TSYNC") set_seccomp_attr(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1, "SCMP_FLTATR_CTL_TSYNC");
        else if (f == "SECCOMP_FILTER_FLAG_LOG") set_seccomp_attr(ctx.get(), SCMP_FLTATR_CTL_LOG, 1, "SCMP_FLTATR_CTL_LOG");
        else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") set_seccomp_attr(ctx.get(), SCMP_FLTATR_CTL_SSB, 1, "SCMP_FLTATR_CTL_SSB");
        else throw Error("seccomp: flag " + f + " is not supported");
    }
    for (auto &rule : s.syscalls) {
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
                add_rule(ctx.get(), action, nr, args, name);
            } else {
                for (auto &one : args) add_rule(ctx.get(), action, nr, {one}, name);
            }
        }
    }
    int rc = seccomp_load(ctx.get());
    if (rc < 0) throw Error(std::string("seccomp: load the filter: ") + std::strerror(-rc), -rc);
    if (uses_notify(s)) {
        int fd = seccomp_notify_fd(ctx.get());
        if (fd < 0) throw Error("seccomp: no listener fd for SCMP_ACT_NOTIFY");
        hand_over_listener(sync_fd, fd);
    }
}

}  // namespace kiln::process
