// The last steps of every container process (the init's and exec's): the
// process attributes, then the sealed exec stub (exec_stub.c), which waits
// for `start` when asked to and execs the payload.
#include "linux/process.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kiln/error.hpp"
#include "linux/inroot.hpp"
#include "util/fd.hpp"
#include "util/unsafe.hpp"

#if __has_include("linux/exec_stub.h")
#include "linux/exec_stub.h"
#define KILN_HAVE_EXEC_STUB 1
#endif

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace kiln::process {

int sealed_stub() {
#ifdef KILN_HAVE_EXEC_STUB
    int fd = ::memfd_create("kiln-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = ::memfd_create("kiln-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw_errno("memfd_create for the exec stub");
    UniqueFd guard(fd);
    if (!write_all(fd, std::string_view(reinterpret_cast<const char *>(kExecStub), sizeof kExecStub)) ||
        ::fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        throw_errno("seal the exec stub");
    return guard.release();
#else
    return -1;
#endif
}

int exec_via_stub(int stub, const StubWait &wait, const std::string &exe, int exe_fd, char *const argv[],
                  char *const envp[]) {
    if (stub < 0) {
        // No stub for this architecture: the caller waited; exec directly.
        if (exe_fd >= 0)
            ::syscall(SYS_execveat, exe_fd, "", argv, envp, AT_EMPTY_PATH);
        else
            ::execve(exe.c_str(), argv, envp);
        return errno;
    }
    // The fds the stub uses must survive this exec; it closes them.
    for (int fd : {wait.fd, exe_fd})
        if (fd >= 0) ::fcntl(fd, F_SETFD, 0);
    std::string fd1 = std::to_string(wait.fd), exec_fd = std::to_string(exe_fd);
    char mode[3] = {wait.mode, wait.dumpable ? 'D' : '\0', 0};
    std::vector<char *> stub_argv{const_cast<char *>("kiln-exec"), mode, fd1.data(), exec_fd.data(),
                                  const_cast<char *>(exe.c_str())};
    for (auto p = argv; *p; p++) stub_argv.push_back(*p);
    stub_argv.push_back(nullptr);
    ::syscall(SYS_execveat, stub, "", stub_argv.data(), envp, AT_EMPTY_PATH);
    return errno;
}

void enter_cwd(const std::string &cwd_or_empty, bool create) {
    const std::string &cwd = cwd_or_empty.empty() ? "/" : cwd_or_empty;
    const std::string what = "chdir to cwd (\"" + cwd + "\") set in config.json failed";
    if (unsafe::off("in-root-lookups")) {
        if (::chdir(cwd.c_str()) == 0) return;
        if (errno != ENOENT || !create) throw_errno(what);
        mkdir_all(cwd, 0755);
        if (::chdir(cwd.c_str()) < 0) throw_errno(what);
        return;
    }
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno(what);
    UniqueFd dir(inroot::open(root.get(), cwd, O_PATH | O_DIRECTORY));
    if (!dir && errno == ENOENT && create) dir = inroot::make_dirs(root.get(), cwd);
    if (!dir) throw_errno(what);
    if (::fchdir(dir.get()) < 0) throw_errno(what);
}

Prepared prepare(const Payload &payload, ExecLabels &labels) {
    const spec::Process &p = *payload.p;
    set_rlimits(p.rlimits);
    // Before seccomp, which may forbid these syscalls.
    if (payload.personality) set_personality(*payload.personality);
    if (p.scheduler) set_scheduler(*p.scheduler);
    if (p.ioPriority) set_io_priority(*p.ioPriority);
    if (payload.memory_policy) set_memory_policy(*payload.memory_policy);
    Prepared out;
    out.env = p.env;
    add_home(out.env, p.user.uid);
    enter_cwd(p.cwd, payload.create_cwd);
    if (!unsafe::off("cve-2024-21626")) verify_cwd();
    out.exe = find_executable(p.args[0], out.env);
    out.args = p.args;
    if (payload.edit) payload.edit(out.exe, out.exe_fd, out.args, out.env);
    if (p.noNewPrivileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_NO_NEW_PRIVS)");
    // Made before the seccomp filter, which may not allow memfd_create.
    if (payload.stub) out.stub.reset(sealed_stub());
    set_exec_labels(labels);
    // Without no_new_privs the filter needs CAP_SYS_ADMIN: load it while we
    // still have it; with no_new_privs as late as possible.
    if (payload.filter && !p.noNewPrivileges) load_seccomp(*payload.filter, p.noNewPrivileges, payload.sync_fd);
    set_user_and_caps(p, payload.in_user_ns, payload.rootless_euid);
    if (payload.filter && p.noNewPrivileges) load_seccomp(*payload.filter, p.noNewPrivileges, payload.sync_fd);
    if (p.user.umask)
        ::umask(*p.user.umask);
    else if (payload.default_umask)
        ::umask(022);
    return out;
}

int exec_payload(Prepared &p, const StubWait &wait, unsigned preserve_fds, int keep_open) {
    // No fd of ours may reach the payload (CVE-2024-21626): everything past
    // stdio and the preserved fds is close-on-exec (the stub closes the
    // ones it waits on).
    if (!unsafe::off("cve-2024-21626")) ::syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    if (keep_open >= 0) ::fcntl(keep_open, F_SETFD, 0);
    auto argv = c_strings(p.args), envp = c_strings(p.env);
    return exec_via_stub(p.stub.get(), wait, p.exe, p.exe_fd, argv.data(), envp.data());
}

}  // namespace kiln::process
