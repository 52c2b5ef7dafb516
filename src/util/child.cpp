#include "util/child.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <string>

#include "kiln/error.hpp"
#include "linux/sync.hpp"
#include "util/fd.hpp"

namespace kiln::child {
namespace {

// Where run() reports: this process's own copy (one thread: no race).
int report_fd = -1;
bool report_stderr = true;
// Set in run(): we are a child of a checked fork and start no threads, so
// our own forks need no check (nor a look at a /proc that may be the
// container's by then).
bool in_run = false;

void report(const char *what) noexcept {
    if (!*what) what = "failed";
    if (report_fd >= 0) sync::send(report_fd, sync::Msg::Error, what);
    if (report_stderr) {
        // No allocation: the failure may have been std::bad_alloc.
        const char prefix[] = "kiln: ";
        struct iovec iov[3] = {{const_cast<char *>(prefix), sizeof prefix - 1},
                               {const_cast<char *>(what), std::char_traits<char>::length(what)},
                               {const_cast<char *>("\n"), 1}};
        (void)!::writev(2, iov, 3);
    }
}

}  // namespace

void check_single_threaded() {
    if (in_run) return;
    struct stat st;
    if (::stat("/proc/self/task", &st) < 0) return;  // no procfs (yet): nothing to tell
    if (st.st_nlink > 3)
        throw Error("refusing to fork: the runtime runs " + std::to_string(st.st_nlink - 2) + " threads");
}

pid_t fork(const char *what) {
    check_single_threaded();
    pid_t pid = ::fork();
    if (pid < 0) throw_errno(what);
    return pid;
}

pid_t clone(unsigned long flags, const char *what) {
    check_single_threaded();
    pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (pid < 0) throw_errno(what);
    return pid;
}

void report_to(int fd, bool also_stderr) noexcept {
    report_fd = fd;
    report_stderr = also_stderr;
}

void run(int sync_fd, const std::function<void()> &fn) noexcept {
    in_run = true;
    report_to(sync_fd, sync_fd < 0);
    try {
        fn();
        ::_exit(0);
    } catch (const std::exception &e) {
        report(e.what());
    } catch (...) {
        report("unknown error");
    }
    ::_exit(1);
}

}  // namespace kiln::child

namespace kiln {

void in_child(const std::function<void()> &fn) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair");
    UniqueFd ours(sv[0]), theirs(sv[1]);
    pid_t pid = child::fork();
    if (pid == 0) {
        ours.reset();
        child::run(theirs.get(), fn);
    }
    theirs.reset();
    sync::Message m = sync::receive(ours.get());
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (m.msg == sync::Msg::Error) throw Error(m.text.empty() ? "failed" : m.text);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("child process failed");
}

}  // namespace kiln
