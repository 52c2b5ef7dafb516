// AppArmor profile and SELinux process label for the next execve, written to
// /proc/thread-self/attr the way the LSMs expect. A label the host cannot
// apply is an error, never silently dropped. The files are opened through the
// host's procfs before the container's mounts exist (or, in `exec`, before
// its mount namespace is joined), and whether the LSM is on is read from the
// host's /sys: a container's fake /proc or /sys cannot swallow the label.
#include "linux/process.hpp"

#include <unistd.h>

#include <cstring>

#include "kiln/error.hpp"
#include "linux/procfs.hpp"
#include "util/fd.hpp"
#include "util/unsafe.hpp"

namespace kiln::process {
namespace {

bool apparmor_enabled() {
    std::string v;
    return try_read_file("/sys/module/apparmor/parameters/enabled", v) && v.rfind("Y", 0) == 0;
}

bool selinux_enabled() { return ::access("/sys/fs/selinux/enforce", F_OK) == 0; }

void check_enabled(const spec::Process &p) {
    if (!p.apparmorProfile.empty() && !apparmor_enabled())
        throw Error("apparmor profile \"" + p.apparmorProfile + "\" specified but AppArmor is not enabled on this system");
    if (!p.selinuxLabel.empty() && !selinux_enabled())
        throw Error("selinux label \"" + p.selinuxLabel + "\" specified but SELinux is not enabled on this system");
}

UniqueFd open_attr(int proc_root, const char *first, const char *fallback) {
    try {
        return procfs::open_file(proc_root, first, O_WRONLY);
    } catch (const Error &) {
        return procfs::open_file(proc_root, fallback, O_WRONLY);
    }
}

void write_attr(int fd, const std::string &value, const char *what) {
    if (!write_all(fd, value)) throw_errno(std::string("write /proc/") + what);
}

// Unsafe knob only: by path, after pivot_root, as kiln did before.
void write_attr_by_path(const std::string &first, const std::string &fallback, const std::string &value) {
    UniqueFd fd(::open(first.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) fd.reset(::open(fallback.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || !write_all(fd.get(), value)) throw_errno("write " + first);
}

}  // namespace

ExecLabels open_exec_labels(const spec::Process &p, pid_t pid) {
    ExecLabels l;
    if (p.apparmorProfile.empty() && p.selinuxLabel.empty()) return l;
    if (unsafe::off("lsm-proc")) {
        l.late = &p;
        return l;
    }
    check_enabled(p);
    UniqueFd proc = procfs::open_root();
    // Only the task itself may write its attr files, but anyone allowed to
    // ptrace it may open them: the runtime opens them for `exec`'s process.
    std::string self = pid > 0 ? std::to_string(pid) : "thread-self";
    if (!p.apparmorProfile.empty()) {
        l.apparmor = open_attr(proc.get(), (self + "/attr/apparmor/exec").c_str(), (self + "/attr/exec").c_str());
        l.apparmor_value = "exec " + p.apparmorProfile;
    }
    if (!p.selinuxLabel.empty()) {
        l.selinux = procfs::open_file(proc.get(), (self + "/attr/exec").c_str(), O_WRONLY);
        l.selinux_value = p.selinuxLabel;
    }
    return l;
}

namespace {

void adopt_exec_labels(const spec::Process &p, const std::vector<int> &fds, ExecLabels &l) {
    size_t i = 0;
    auto take = [&]() { return UniqueFd(i < fds.size() ? fds[i++] : -1); };
    if (unsafe::off("lsm-proc") && (!p.apparmorProfile.empty() || !p.selinuxLabel.empty())) l.late = &p;
    if (!p.apparmorProfile.empty() && !l.late) {
        l.apparmor = take();
        l.apparmor_value = "exec " + p.apparmorProfile;
    }
    if (!p.selinuxLabel.empty() && !l.late) {
        l.selinux = take();
        l.selinux_value = p.selinuxLabel;
    }
    while (i < fds.size()) ::close(fds[i++]);
    if (!l.late && ((!p.apparmorProfile.empty() && !l.apparmor) || (!p.selinuxLabel.empty() && !l.selinux)))
        throw Error("the runtime did not pass the LSM attribute files");
}

}  // namespace

bool wants_exec_labels(const spec::Process &p) { return !p.apparmorProfile.empty() || !p.selinuxLabel.empty(); }

bool send_exec_labels(int sock, sync::Msg msg, const ExecLabels &labels) {
    std::vector<int> fds;
    for (auto *fd : {&labels.apparmor, &labels.selinux})
        if (*fd) fds.push_back(fd->get());
    return sync::send_fds(sock, msg, fds);
}

sync::Msg receive_exec_labels(int sock, const spec::Process &p, ExecLabels &labels) {
    sync::Message m = sync::receive(sock);
    if (m.msg == sync::Msg::None || !m.text.empty()) return sync::Msg::None;
    std::vector<int> fds;
    for (auto &fd : m.fds) fds.push_back(fd.release());
    adopt_exec_labels(p, fds, labels);
    return m.msg;
}

void set_exec_labels(ExecLabels &l) {
    if (l.late) {
        const spec::Process &p = *l.late;
        check_enabled(p);
        if (!p.apparmorProfile.empty())
            write_attr_by_path("/proc/thread-self/attr/apparmor/exec", "/proc/thread-self/attr/exec", "exec " + p.apparmorProfile);
        if (!p.selinuxLabel.empty()) write_attr_by_path("/proc/thread-self/attr/exec", "/proc/self/attr/exec", p.selinuxLabel);
        return;
    }
    if (l.apparmor) write_attr(l.apparmor.get(), l.apparmor_value, "thread-self/attr/apparmor/exec");
    if (l.selinux) write_attr(l.selinux.get(), l.selinux_value, "thread-self/attr/exec");
    // Nothing of the host's procfs stays open into the payload.
    l.apparmor.reset();
    l.selinux.reset();
}

}  // namespace kiln::process
