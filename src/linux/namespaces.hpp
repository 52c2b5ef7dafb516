// Namespace types of the runtime-spec and their clone(2) flags.
#pragma once

#include <sched.h>

#include <string>

namespace kiln::ns {

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// 0 for an unknown type.
inline unsigned long flag_of(const std::string &type) {
    if (type == "pid") return CLONE_NEWPID;
    if (type == "network") return CLONE_NEWNET;
    if (type == "mount") return CLONE_NEWNS;
    if (type == "ipc") return CLONE_NEWIPC;
    if (type == "uts") return CLONE_NEWUTS;
    if (type == "user") return CLONE_NEWUSER;
    if (type == "cgroup") return CLONE_NEWCGROUP;
    if (type == "time") return CLONE_NEWTIME;
    return 0;
}

// Joins the namespace at path (setns); throws Error naming the path.
void join(const std::string &path, unsigned long flag);

}  // namespace kiln::ns
