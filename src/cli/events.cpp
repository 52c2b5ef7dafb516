// kiln events [--interval D] [--stats] <container-id>

#include <time.h>

#include <algorithm>

#include "cgroups/cgroup.hpp"
#include "cli.hpp"
#include "kiln/error.hpp"

namespace kiln::cli {
namespace {

// Go's time.ParseDuration for the forms engines pass ("5s", "1m", "500ms", "1.5s").
double parse_seconds(const std::string &s) {
    static const std::pair<const char *, double> units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3},
                                                             {"s", 1},     {"m", 60},    {"h", 3600}};
    char *end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    std::string unit(end);
    if (end != s.c_str())
        for (auto &[name, mult] : units)
            if (unit == name) return v * mult;
    throw kiln::Error("time: invalid duration \"" + s + "\"");
}

// After a failed read: has the container stopped (the stream's normal end)?
// Errors other than "does not exist" are the caller's to report.
bool stopped(const Globals &g, const std::string &id) {
    try {
        return kiln::state(g, id).status == "stopped";
    } catch (const kiln::Error &e) {
        if (e.code() == ENOENT) return true;
        throw;
    }
}

}  // namespace

int cmd_events(Context &c) {
    Options app;
    std::string interval = "5s";
    bool stats = false;
    app.value("--interval", interval, "set the stats collection interval (default: 5s)");
    app.flag("--stats", stats, "display the container's stats then exit");
    auto pos = app.parse(c, {"<container-id>", 1, 1});
    double secs = parse_seconds(interval);
    if (secs <= 0) throw kiln::Error("duration interval must be greater than 0");
    if (stats) {
        out(kiln::stats_event(c.g, pos[0]) + "\n");
        return 0;
    }
    // Streaming: one stats event per interval until the container stops
    // (a container stopped from the start is an error, as in runc).
    // OOM kills show up as {"type":"oom"} events as the counter moves: the
    // watch wakes on the kernel's notice, before systemd can remove the
    // cgroup of a scope whose last process was killed.
    auto watch = kiln::watch_oom(c.g, pos[0]);
    unsigned long long ooms = watch->count();
    auto report = [&](unsigned long long now) {
        if (now > ooms) out("{\"type\":\"oom\",\"id\":\"" + pos[0] + "\"}\n");
        ooms = std::max(ooms, now);
    };
    for (bool first = true;; first = false) {
        std::string line;
        try {
            line = kiln::stats_event(c.g, pos[0]);
        } catch (const kiln::Error &) {
            // Only the container's end ends the stream quietly (an OOM-killed init's last).
            if (first || !stopped(c.g, pos[0])) throw;
            report(watch->count());
            return 0;
        }
        report(watch->count());
        out(line + "\n");
        struct timespec start, now;
        ::clock_gettime(CLOCK_MONOTONIC, &start);
        for (double left = secs; left > 0;) {
            report(watch->wait(left));
            ::clock_gettime(CLOCK_MONOTONIC, &now);
            left = secs - (double(now.tv_sec - start.tv_sec) + double(now.tv_nsec - start.tv_nsec) / 1e9);
        }
    }
}

}  // namespace kiln::cli
