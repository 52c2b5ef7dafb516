// linux.intelRdt (Intel RDT / AMD QoS) through the resctrl filesystem.
#pragma once

#include <sys/types.h>

#include <string>

#include "kiln/spec.hpp"

namespace kiln::resctrl {

// The container's resource group, as kept in its state.
struct Group {
    std::string root;     // the resctrl mount
    std::string path;     // the group (the closID's, or one named after the container)
    bool created = false;  // made by us: removed on delete
    std::string mon;      // mon_groups/<id> (enableMonitoring), removed on delete
};

// Where resctrl is mounted ("" when the host has none).
std::string root();
// Throws an Error naming the field the host cannot provide.
void check(const spec::IntelRdt &r, const std::string &root);
// Puts pid into the container's group (made when missing) and writes the
// schemata; on failure nothing made is left.
Group apply(const spec::IntelRdt &r, const std::string &id, pid_t pid, const std::string &root);
// An exec'd process goes where the init went.
void join(const Group &g, pid_t pid);
void destroy(const Group &g);
// update --l3-cache-schema/--mem-bw-schema (root: resctrl::root()), runc's texts.
void update(const std::string &root, const Group &g, const std::string &l3, const std::string &mb);

}  // namespace kiln::resctrl
