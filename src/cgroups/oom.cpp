// Watching a container's OOM kill count (events): the kernel's own
// notifications, so an OOM kill is counted before the cgroup can vanish.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdlib>

#include "cgroups/fs.hpp"
#include "kiln/error.hpp"

namespace kiln::cgroups {

OomWatch::OomWatch(const Record &r) {
    auto hs = hierarchies_of(r);
    for (size_t i = 0; i < hs.size() && file_.empty(); i++) {
        const std::string &dir = r.dirs[i];
        if (hs[i].v2 && exists(dir, "memory.events")) {
            file_ = dir + "/memory.events";
            fd_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
            if (fd_ && ::inotify_add_watch(fd_.get(), file_.c_str(), IN_MODIFY) < 0) fd_.reset();
        } else if (!hs[i].v2 && has_controller(hs[i], "memory")) {
            file_ = dir + "/memory.oom_control";
            // runc's v1 notifier: "<eventfd> <oom_control fd>" into cgroup.event_control.
            v1_control_.reset(::open(file_.c_str(), O_RDONLY | O_CLOEXEC));
            fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
            if (!v1_control_ || !fd_) {
                fd_.reset();  // polling still counts
                continue;
            }
            try {
                write(dir, "cgroup.event_control", std::to_string(fd_.get()) + " " + std::to_string(v1_control_.get()));
            } catch (const Error &) {
                fd_.reset();
            }
        }
    }
    count();
}

unsigned long long OomWatch::count() {
    std::string text;
    if (file_.empty() || !read(file_, text)) return last_;
    auto pos = text.find("oom_kill ");
    if (pos != std::string::npos) last_ = std::max(last_, std::strtoull(text.c_str() + pos + 9, nullptr, 10));
    return last_;
}

unsigned long long OomWatch::wait(double seconds) {
    if (fd_) {
        struct pollfd p{fd_.get(), POLLIN, 0};
        // (milliseconds rounded up without <cmath>: libm would be one more
        // library every kiln command maps)
        double ms = seconds * 1000;
        int timeout = static_cast<int>(ms);
        if (timeout < ms) timeout++;
        if (::poll(&p, 1, timeout) > 0) {
            char buf[4096];
            while (::read(fd_.get(), buf, sizeof buf) > 0) {
            }
        }
    } else {
        struct timespec ts;
        ts.tv_sec = static_cast<time_t>(seconds);
        ts.tv_nsec = static_cast<long>((seconds - static_cast<double>(ts.tv_sec)) * 1e9);
        ::nanosleep(&ts, nullptr);
    }
    return count();
}

}  // namespace kiln::cgroups
