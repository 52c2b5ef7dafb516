// fs-idmap PATH: exits 0 when PATH's filesystem supports id-mapped mounts.
// Stands in for runc 1.3's tests/cmd/fs-idmap (Go >= 1.22, which Debian 12
// lacks) for tests/runc-integration/run.sh: the same steps and error texts
// ("fatal error: error calling mount_setattr: invalid argument"), which
// runc's requires_idmap_fs matches to skip on filesystems without support.
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

// strerror as Go prints it: "invalid argument".
std::string go_error(int err) {
    std::string s = std::strerror(err);
    if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
    return s;
}

int fail(const std::string &what, int err) {
    std::fprintf(stderr, "fatal error: %s: %s\n", what.c_str(), go_error(err).c_str());
    return 1;
}

bool write_file(const std::string &path, const std::string &text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s path_to_mount_set_attr\n", argv[0]);
        return 1;
    }
    const char *src = argv[1];
    int tree = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
    if (tree < 0) return fail(std::string("error calling open_tree \"") + src + "\"", errno);

    // A process in a user namespace mapping 0-65535 to 65536-131071 holds it.
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) return fail("pipe", errno);
    pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (pid < 0) return fail("failed to run the helper binary", errno);
    if (pid == 0) {
        char c;
        ::close(pipefd[1]);
        (void)!::read(pipefd[0], &c, 1);
        ::_exit(0);
    }
    ::close(pipefd[0]);
    std::string base = "/proc/" + std::to_string(pid);
    int rc = 0;
    if (!write_file(base + "/uid_map", "0 65536 65536\n") || !write_file(base + "/gid_map", "0 65536 65536\n")) {
        rc = fail("failed to run the helper binary: write id maps", errno);
    } else {
        int ns = ::open((base + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0) {
            rc = fail("unable to get user ns file descriptor", errno);
        } else {
            struct mount_attr attr{};
            attr.attr_set = MOUNT_ATTR_IDMAP;
            attr.userns_fd = static_cast<uint64_t>(ns);
            if (::syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
                rc = fail("error calling mount_setattr", errno);
            ::close(ns);
        }
    }
    ::close(pipefd[1]);
    ::waitpid(pid, nullptr, 0);
    ::close(tree);
    return rc;
}
