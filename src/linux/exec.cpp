// The init's last step: hand over to the sealed exec stub (exec_stub.c),
// which waits for `start` and execs the payload.
#include "linux/process.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kiln/error.hpp"
#include "util/fd.hpp"

#if __has_include("linux/exec_stub.h")
#include "linux/exec_stub.h"
#define KILN_HAVE_EXEC_STUB 1
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

}  // namespace kiln::process
