// kiln events [--interval D] [--stats] <container-id>

#include <time.h>

#include <cmath>

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
    // OOM kills show up as {"type":"oom"} events when the counter moves.
    unsigned long long ooms = 0;
    for (bool first = true;; first = false) {
        std::string line;
        try {
            line = kiln::stats_event(c.g, pos[0]);
            unsigned long long now = kiln::oom_kills(c.g, pos[0]);
            if (!first && now > ooms) out("{\"type\":\"oom\",\"id\":\"" + pos[0] + "\"}\n");
            ooms = now;
        } catch (const kiln::Error &) {
            // Only the container's end ends the stream quietly.
            if (first || !stopped(c.g, pos[0])) throw;
            return 0;
        }
        out(line + "\n");
        struct timespec ts;
        ts.tv_sec = static_cast<time_t>(secs);
        ts.tv_nsec = static_cast<long>((secs - std::floor(secs)) * 1e9);
        ::nanosleep(&ts, nullptr);
    }
}

}  // namespace kiln::cli
