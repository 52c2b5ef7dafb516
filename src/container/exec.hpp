// The parts of `exec` (exec.cpp) that read its arguments, declared for the
// unit tests.
#pragma once

#include <string>
#include <vector>

#include "container/state.hpp"
#include "kiln/container.hpp"
#include "kiln/spec.hpp"

namespace kiln {

// The process to run: -p FILE as given, else the config's process with the
// command-line overrides.
spec::Process build_process(const spec::Spec &spec, const ExecOptions &o);
// --cgroup [CTRLS:]PATH: the cgroup directories (st.cgroup.dirs' order) of the exec'd process.
std::vector<std::string> exec_cgroup_dirs(const StoredState &st, const std::vector<std::string> &specs);

}  // namespace kiln
