// One connection to the system bus for the systemd driver; libsystemd is
// loaded on first use (sdbus.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cgroups/systemd.hpp"

namespace kiln::cgroups {

class Bus {
public:
    Bus();  // connects and subscribes to job signals
    ~Bus();
    Bus(const Bus &) = delete;
    Bus &operator=(const Bus &) = delete;

    // Loads libsystemd; throws when it is missing (before anything exists).
    static void load();
    // Calls method(unit, "replace", [props]...) and waits for its job; returns
    // the job's result ("done", "failed" ...), "exists" for UnitExists,
    // "missing" for NoSuchUnit.
    std::string job_call(const char *method, const std::string &unit, const std::vector<Property> *props);
    void set_properties(const std::string &unit, const std::vector<Property> &props);
    void reset_failed(const std::string &unit);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::cgroups
