// Running runtime-spec hooks: argv from `args` (path when empty), exactly
// `env`, the state JSON on stdin, cwd the bundle, killed after `timeout`.
#pragma once

#include <string>
#include <vector>

#include "kiln/spec.hpp"

namespace kiln::hooks {

// Runs the hooks in order; the first failure throws
// Error("error running <name> hook #<i>: <reason>[, stderr: ...]").
void run(const std::vector<spec::Hook> &hooks, const char *name, const std::string &state_json,
         const std::string &cwd);

// poststart and poststop (runtime-spec): a failure is logged as a warning
// and the remaining hooks still run.
void run_warn_only(const std::vector<spec::Hook> &hooks, const char *name, const std::string &state_json,
                   const std::string &cwd);

}  // namespace kiln::hooks
