// Process attributes applied by the init right before execve: rlimits,
// user and groups, capabilities, no_new_privs; and the payload lookup.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kiln/spec.hpp"
#include "linux/sync.hpp"
#include "util/fd.hpp"

namespace kiln::process {

void set_rlimits(const std::vector<spec::Rlimit> &rlimits);
// Capability names neither libcap nor this kernel knows, sorted, each once:
// they are skipped (set_user_and_caps), and the runtime warns about them
// as runc does ("ignoring unknown or unavailable capabilities: [...]").
std::vector<std::string> unknown_capabilities(const spec::Capabilities &caps);
void warn_unknown_capabilities(const std::optional<spec::Capabilities> &caps);
// process.scheduler, process.ioPriority, linux.personality (attrs.cpp).
void set_scheduler(const spec::Scheduler &s);
void set_io_priority(const spec::IOPriority &p);
void set_personality(const spec::Personality &p);
// linux.memoryPolicy (set_mempolicy(2)): the init's and every exec'd process's.
void set_memory_policy(const spec::MemoryPolicy &m);
// CPU affinity of pid (0: ourselves) as a mask from spec::parse_list; throws
// Error(what: errno). reset_affinity: every cpu, so that a container process
// never keeps kiln's own affinity (runc 1.3.1); only warns on failure.
void set_affinity(pid_t pid, const std::vector<uint64_t> &cpus, const std::string &what);
void reset_affinity(pid_t pid);
// setgroups/setresgid/setresuid keeping capabilities, then the five sets.
void set_user_and_caps(const spec::Process &p, bool in_user_ns, bool rootless_euid);
// The payload path as execvp would find it with the process's PATH;
// errors worded like runc's ("exec: \"x\": executable file not found in $PATH").
std::string find_executable(const std::string &arg0, const std::vector<std::string> &env);
// Loads linux.seccomp into this process (inherited across execve).
// no_new_privs is set only when the process asks for it. With SCMP_ACT_NOTIFY
// rules the listener fd is sent to the runtime on sync_fd (sync::Msg::SeccompFd
// with the fd) and this waits for its Go.
void load_seccomp(const spec::Seccomp &s, bool no_new_privs, int sync_fd = -1);
// seccomp_attr_set on a libseccomp filter context (scmp_filter_ctx, attr a
// scmp_filter_attr); throws "seccomp: set filter attribute <name>: <why>".
void set_seccomp_attr(void *ctx, int attr, uint32_t value, const char *name);
// Whether this kernel takes SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19).
bool seccomp_wait_killable_supported();
// Whether this kernel takes a SECCOMP_FILTER_FLAG_* with a listener (asked once per flag).
bool seccomp_flag_supported(uint64_t flag);
// The libseccomp filter load_seccomp loads, built but not loaded (the fuzz
// harness exports it instead). Throws on an unknown action, operator or flag.
using SeccompFilter = std::unique_ptr<void, void (*)(void *)>;
SeccompFilter build_seccomp(const spec::Seccomp &s, bool no_new_privs);

// process.apparmorProfile / selinuxLabel for the next execve. Opened while
// /proc and /sys are the host's (before the container's mounts, or before
// `exec` joins its mount namespace); throws when the host lacks the LSM.
struct ExecLabels {
    UniqueFd apparmor, selinux;  // the attr files, O_WRONLY
    std::string apparmor_value, selinux_value;
    const spec::Process *late = nullptr;  // unsafe knob lsm-proc: by path at write time
};
// pid > 0: the attr files of that process (the runtime opens them for
// exec's process, which then receives them: see adopt_exec_labels).
ExecLabels open_exec_labels(const spec::Process &p, pid_t pid = 0);
bool wants_exec_labels(const spec::Process &p);
// A process born inside the container (exec's, or one forked into a shared
// pid namespace) gets its labels' attr files from the runtime, which opens
// them for its pid through the host's procfs: a sync message msg with the
// fds. receive returns the message (Msg::None on EOF/error).
bool send_exec_labels(int sock, sync::Msg msg, const ExecLabels &labels);
sync::Msg receive_exec_labels(int sock, const spec::Process &p, ExecLabels &labels);
// Writes the labels and closes the files (right before the exec).
void set_exec_labels(ExecLabels &labels);

// The sealed memfd holding the exec stub (CVE-2019-5736: no container
// process ever has the host's kiln as /proc/<pid>/exe); -1 on an
// architecture without a stub. Throws when memfds cannot be made.
int sealed_stub();

// What the stub waits for before it execs the payload (see exec_stub.c).
struct StubWait {
    char mode = 'x';  // 'a' accept `start` on a listening socket, 's' sync socket, 'x' nothing
    int fd = -1;      // the socket waited on
    bool dumpable = false;  // test builds only (KILN_UNSAFE=cve-2016-9962)
};

// Execs the stub, which waits and then execs exe_fd when >= 0 (a file the
// runtime opened and checked), else exe by path. Returns errno on failure.
int exec_via_stub(int stub, const StubWait &wait, const std::string &exe, int exe_fd, char *const argv[],
                  char *const envp[]);
// argv/envp for execve: pointers into v, null-terminated.
inline std::vector<char *> c_strings(const std::vector<std::string> &v) {
    std::vector<char *> out;
    out.reserve(v.size() + 1);
    for (auto &s : v) out.push_back(const_cast<char *>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// The last steps of every container process, the init's and exec's (one
// copy, so that the two cannot drift apart): rlimits, personality,
// scheduler, I/O priority, memory policy, HOME, cwd, the payload's path,
// no_new_privs, the stub, LSM labels, seccomp, user and capabilities, umask.
// Where runc's two inits differ, so do these (runc 1.2+ setns_init_linux.go
// against standard_init_linux.go and rootfs_linux.go):
//   - create_cwd: the init makes a missing cwd (runc's prepareRootfs
//     MkdirAll); exec fails with "chdir to cwd ... failed" (finalizeNamespace).
//   - default_umask: with no process.user.umask the init sets 022
//     (finalizeRootfs); exec leaves the caller's umask as it is.
struct Payload {
    const spec::Process *p = nullptr;
    const spec::Seccomp *filter = nullptr;
    const spec::Personality *personality = nullptr;
    const spec::MemoryPolicy *memory_policy = nullptr;
    int sync_fd = -1;  // for a seccomp listener (SCMP_ACT_NOTIFY)
    bool in_user_ns = false, rootless_euid = false;
    bool create_cwd = false;
    bool default_umask = false;
    bool stub = true;  // exec through the sealed stub (else straight to the payload)
    // The payload handler's say on what runs (handlers::Handler's
    // container_process or exec_process).
    std::function<void(std::string &exe, int &exe_fd, std::vector<std::string> &args, std::vector<std::string> &env)>
        edit;
};
// What prepare() leaves for exec_payload(): argv/envp point into args/env.
struct Prepared {
    std::string exe;
    int exe_fd = -1;  // a file the handler opened and checked, run instead of exe
    std::vector<std::string> args, env;
    UniqueFd stub;
};
// Everything up to the exec; labels are written (and closed) on the way.
Prepared prepare(const Payload &payload, ExecLabels &labels);
// Marks every fd past stdio and the preserved ones close-on-exec
// (CVE-2024-21626) and execs through the stub; returns errno on failure.
int exec_payload(Prepared &p, const StubWait &wait, unsigned preserve_fds, int keep_open = -1);
// The working directory, resolved inside the container's root (never through
// a magic link such as /proc/self/fd/N); "" is "/". create: make it when missing.
void enter_cwd(const std::string &cwd, bool create);

// Closes every fd >= from except those in keep (CVE-2024-21626): fds that
// clone()/fork() copied from the runtime, or from whoever ran it, must not be
// open in the container, where /proc/self/fd/N would lead back to the host.
void close_fds_except(int from, std::vector<int> keep);
// Throws unless the working directory lies inside our root (CVE-2024-21626:
// a cwd reached through a leaked fd is a way out of the container).
void verify_cwd();

// HOME from /etc/passwd of the (already pivoted) root when env has none.
void add_home(std::vector<std::string> &env, uid_t uid);

}  // namespace kiln::process

namespace kiln::netlink {
// Brings "lo" up in the current network namespace (RTM_NEWLINK via libmnl).
void loopback_up();
// linux.netDevices: moves host interface `name` into the network namespace
// netns_fd (ns_path names it in errors), renamed to new_name unless empty
// ("eth%d" lets the kernel choose), with its permanent global addresses,
// and brings it up there.
void move_device(const std::string &name, const std::string &new_name, int netns_fd, const std::string &ns_path);
}  // namespace kiln::netlink
