// The runtime's half of SCMP_ACT_NOTIFY: the container process sends its
// seccomp listener fd over the sync socket; the runtime passes it on to the
// agent listening at linux.seccomp.listenerPath, with runc's
// ContainerProcessState JSON, and keeps no copy.
#pragma once

#include <sys/types.h>

#include <string>

#include "kiln/spec.hpp"
#include "util/fd.hpp"

namespace kiln::seccomp_agent {

// Connects to s.listenerPath and sends {"ociVersion","fds":["seccompFd"],
// "pid","metadata","state":STATE} with notify_fd attached.
void hand_over(const spec::Seccomp &s, int notify_fd, pid_t pid, const std::string &state_json);

}  // namespace kiln::seccomp_agent
