// AppArmor profile and SELinux process label for the next execve, written to
// /proc/self/attr the way the LSMs expect. A label the host cannot apply is an
// error, never silently dropped.
#include "linux/process.hpp"

#include <unistd.h>

#include "kiln/error.hpp"
#include "util/fd.hpp"

namespace kiln::process {
namespace {

bool apparmor_enabled() {
    std::string v;
    return try_read_file("/sys/module/apparmor/parameters/enabled", v) && v.rfind("Y", 0) == 0;
}

bool selinux_enabled() { return ::access("/sys/fs/selinux/enforce", F_OK) == 0; }

void write_attr(const std::string &first, const std::string &fallback, const std::string &value) {
    UniqueFd fd(::open(first.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) fd.reset(::open(fallback.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || !write_all(fd.get(), value)) throw_errno("write " + first);
}

}  // namespace

void set_exec_labels(const spec::Process &p) {
    if (!p.apparmorProfile.empty()) {
        if (!apparmor_enabled())
            throw Error("apparmor profile \"" + p.apparmorProfile + "\" specified but AppArmor is not enabled on this system");
        write_attr("/proc/thread-self/attr/apparmor/exec", "/proc/thread-self/attr/exec", "exec " + p.apparmorProfile);
    }
    if (!p.selinuxLabel.empty()) {
        if (!selinux_enabled())
            throw Error("selinux label \"" + p.selinuxLabel + "\" specified but SELinux is not enabled on this system");
        write_attr("/proc/thread-self/attr/exec", "/proc/self/attr/exec", p.selinuxLabel);
    }
}

}  // namespace kiln::process
