// The parts of `restore` (restore.cpp) that only read the config, declared
// for the unit tests.
#pragma once

#include <string>

#include "kiln/checkpoint.hpp"
#include "kiln/spec.hpp"

namespace kiln {

// Whether dest lies inside a tmpfs mount of the config (CRIU restores its content).
bool under_tmpfs(const spec::Spec &spec, const std::string &dest);
// Errors of the config and flags before CRIU is asked (runc's words).
void check_options(const spec::Spec &spec, const RestoreOptions &o);

}  // namespace kiln
