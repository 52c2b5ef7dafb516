// The init's last step: exec the payload through the sealed exec stub.
#include "linux/process.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fd.hpp"

#if __has_include("linux/exec_stub.h")
#include "linux/exec_stub.h"
#define KILN_HAVE_EXEC_STUB 1
#endif

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace kiln::process {
namespace {

#ifdef KILN_HAVE_EXEC_STUB
// A sealed, unwritable memfd holding the stub; -1 if memfds cannot be
// executed here (vm.memfd_noexec), in which case the caller must refuse.
int sealed_stub() {
    int fd = ::memfd_create("kiln-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = ::memfd_create("kiln-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    if (!write_all(fd, std::string_view(reinterpret_cast<const char *>(kExecStub), sizeof kExecStub)) ||
        ::fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}
#endif

}  // namespace

int exec_payload(const std::string &exe, char *const argv[], char *const envp[]) {
#ifdef KILN_HAVE_EXEC_STUB
    int stub = sealed_stub();
    if (stub < 0) return errno ? errno : EACCES;
    std::vector<char *> stub_argv{const_cast<char *>("kiln-exec"), const_cast<char *>(exe.c_str())};
    for (auto p = argv; *p; p++) stub_argv.push_back(*p);
    stub_argv.push_back(nullptr);
    ::syscall(SYS_execveat, stub, "", stub_argv.data(), envp, AT_EMPTY_PATH);
    int err = errno;
    ::close(stub);
    return err;
#else
    // No stub for this architecture: the payload is exec'd directly.
    ::execve(exe.c_str(), argv, envp);
    return errno;
#endif
}

}  // namespace kiln::process
