#include "linux/hooks.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "linux/process.hpp"
#include "util/child.hpp"
#include "util/fd.hpp"

namespace kiln::hooks {
namespace {

long now_ms() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

[[noreturn]] void exec_hook(const spec::Hook &h, int in, int out, const std::string &cwd) {
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) < 0) {
        // runc also runs the hook when the bundle is gone; cwd stays as is.
    }
    // argv points into `args`, which must outlive the execve.
    const std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
    auto argv = process::c_strings(args);
    auto envp = process::c_strings(h.env);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    std::string msg = "exec " + h.path + ": " + std::strerror(errno);
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
}

// Runs one hook; returns "" on success or the reason it failed.
std::string run_one(const spec::Hook &h, const std::string &state, const std::string &cwd) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd in_r(in[0]), in_w(in[1]);
    if (::pipe2(out, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd out_r(out[0]), out_w(out[1]);

    pid_t pid = child::fork("fork hook");
    // Nothing the hook's child throws may unwind into our caller (a Launch
    // would kill the container): its errors go to its stderr, our pipe.
    if (pid == 0) child::run(-1, [&] { exec_hook(h, in_r.get(), out_w.get(), cwd); });
    in_r.reset();
    out_w.reset();
    // A hook that does not read its stdin must not kill us with SIGPIPE; the
    // old disposition comes back so the payload does not inherit SIG_IGN.
    auto old = ::signal(SIGPIPE, SIG_IGN);
    write_all(in_w.get(), state);
    ::signal(SIGPIPE, old);
    in_w.reset();

    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    long deadline = h.timeout && *h.timeout > 0 ? now_ms() + *h.timeout * 1000L : -1;
    std::string output;
    bool timed_out = false;
    for (bool out_open = true; out_open;) {
        int wait = deadline < 0 ? -1 : static_cast<int>(std::max(0L, deadline - now_ms()));
        struct pollfd p = {out_r.get(), POLLIN, 0};
        int n = ::poll(&p, 1, wait);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        char buf[1024];
        ssize_t r = ::read(out_r.get(), buf, sizeof buf);
        if (r <= 0) out_open = false;
        else if (output.size() < 4096) output.append(buf, static_cast<size_t>(r));
    }
    if (!timed_out && deadline >= 0 && pidfd) {
        // Output closed but the hook may still run (it closed its stdout).
        struct pollfd p = {pidfd.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(std::max(0L, deadline - now_ms()))) == 0) {
            timed_out = true;
            ::kill(pid, SIGKILL);
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string reason;
    if (timed_out) reason = "timeout after " + std::to_string(*h.timeout) + "s";
    else if (WIFSIGNALED(status)) reason = "signal: " + go_lower(strsignal(WTERMSIG(status)));  // "bad system call"
    else if (WEXITSTATUS(status) != 0) reason = "exit status " + std::to_string(WEXITSTATUS(status));
    if (!reason.empty() && !output.empty()) reason += ", output: " + output;
    return reason;
}

}  // namespace

// runc's text: "error running <name> hook #<i>: error running hook: <why>".
void run(const std::vector<spec::Hook> &hooks, const char *name, const std::string &state_json,
         const std::string &cwd) {
    for (size_t i = 0; i < hooks.size(); i++) {
        std::string reason = run_one(hooks[i], state_json, cwd);
        if (!reason.empty())
            throw Error("error running " + std::string(name) + " hook #" + std::to_string(i) +
                        ": error running hook: " + reason);
    }
}

void run_warn_only(const std::vector<spec::Hook> &hooks, const char *name, const std::string &state_json,
                   const std::string &cwd) {
    for (size_t i = 0; i < hooks.size(); i++) {
        std::string reason = run_one(hooks[i], state_json, cwd);
        if (!reason.empty())
            log::warn("error running " + std::string(name) + " hook #" + std::to_string(i) + ": " + reason);
    }
}

}  // namespace kiln::hooks
