// Executables that nothing inside a container can rewrite (CVE-2019-5736
// class). A process that enters a container's namespaces, or that the
// container can see, must not run from (or hold) a writable host file: a
// ptrace-capable container process can open /proc/<pid>/exe, and reopen it
// for writing once the file is no longer being executed.
#pragma once

#include <string>

#include "util/fd.hpp"

namespace kiln {
class Sha256;
}

namespace kiln::sealed {

// True when fd's file cannot be written through any path the kernel
// offers to a process holding it: it lies on a read-only mount, or it is a
// memfd sealed against writes.
bool is_readonly(int fd);

// A read-only view of the file fd refers to: a detached read-only,
// nosuid, nodev bind mount of the file (open_tree + mount_setattr; no copy),
// or, where this process may not make mounts (rootless), a sealed memfd
// copy. The result is an O_PATH (or memfd) fd for execveat(AT_EMPTY_PATH).
UniqueFd readonly_view(int fd, const char *name);

// A sealed memfd copy of everything readable from fd; when hash is given,
// the bytes copied are fed to it, so what is checked is what runs.
// max: refuse files larger than this (EFBIG).
UniqueFd memfd_copy(int fd, const char *name, Sha256 *hash = nullptr, size_t max = size_t(1) << 30);

// For the commands whose processes enter a container (create, run, exec):
// unless kiln already runs from a read-only view of itself, re-exec kiln
// (same argv and environment) from one. Returns only when kiln already does.
void reexec_self(char **argv);

// create and run: main keeps argv here (and notes whether kiln already runs
// from a read-only file) instead of re-executing at once. The launch calls
// reexec_kept only where a container process could watch the init run kiln
// code (lifecycle.hpp: init_seen_by_containers); elsewhere the init execs the
// payload through the sealed stub, so nothing in the container can reach the
// host's kiln file: one small exec instead of a whole second kiln (~0.3 ms).
void keep_argv(char **argv);
void reexec_kept();

// True once reexec_self has seen kiln run from a read-only view: processes
// forked from us are then no CVE-2019-5736 risk, and need the exec stub
// only where a small process must wait (a created container).
bool running_readonly();

}  // namespace kiln::sealed
