// The checks of `checkpoint`'s flags and its descriptors.json
// (checkpoint.cpp), declared for the unit tests.
#pragma once

#include <sys/types.h>

#include <string>

#include "kiln/checkpoint.hpp"

namespace kiln {

// --parent-path: relative, a directory under --image-path.
void check_parent_path(const CheckpointOptions &o);
// --page-server ADDRESS:PORT ("[v6]:port" too) into its parts (runc's errors).
void split_page_server(const std::string &s, std::string &addr, int &port);
// --status-fd: an open fd we can write.
void check_status_fd(int fd);
// <image>/descriptors.json: what pid's fds 0-2 are (runc's format).
void write_descriptors(const std::string &image, pid_t pid);

}  // namespace kiln
