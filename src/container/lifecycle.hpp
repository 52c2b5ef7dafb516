// The parts of create/run (lifecycle.cpp) that only read the config and the
// environment, declared for the unit tests.
#pragma once

#include "kiln/container.hpp"
#include "kiln/spec.hpp"
#include "util/fd.hpp"

namespace kiln {

// Errors of the config and flags before anything is made (runc's words).
void check_create_options(const spec::Spec &spec, const CreateOptions &o, bool detached, bool use_fifo);
// LISTEN_FDS/LISTEN_PID meant for us: their count, and the payload's env set to LISTEN_PID=1.
unsigned socket_activation(spec::Spec &spec);
// The config makes a new pid namespace (not joined by path).
bool has_own_pid_ns(const spec::Spec &spec);
// A process of some container could watch this container's init while it
// still runs kiln code: its pid namespace is joined or the host's (other
// containers' processes are there), startContainer hooks run inside the
// container's root from a path its image chose, or a bind mount gives it the
// host's /proc. Then kiln re-execs from a read-only view of itself
// (sealed::reexec_kept) before making anything. bundle: for relative sources.
bool init_seen_by_containers(const spec::Spec &spec, const std::string &bundle);
// clone() flags of the namespaces to make; joins those with a path that must be joined first.
unsigned long namespaces_to_create(const spec::Spec &spec, bool &cgroup_ns, bool &time_ns, UniqueFd &pid_ns,
                                   unsigned long *unshare);

}  // namespace kiln
