#include "util/child.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <exception>
#include <string>

#include "kiln/error.hpp"
#include "util/fd.hpp"

namespace kiln {

void in_child(const std::function<void()> &fn) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        rd.reset();
        std::string err;
        try {
            fn();
        } catch (const std::exception &e) {
            err = e.what();
            if (err.empty()) err = "failed";
        }
        if (!err.empty()) (void)!::write(wr.get(), err.data(), err.size());
        ::_exit(err.empty() ? 0 : 1);
    }
    wr.reset();
    std::string err = read_fd(rd.get());
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!err.empty()) throw Error(err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("child process failed");
}

}  // namespace kiln
