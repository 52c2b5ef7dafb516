// Finding a helper program the way a shell's PATH lookup does.
#pragma once

#include <string>

namespace kiln {

// True when p is a regular file we may execute.
bool executable(const std::string &p);

// The first dir/name in the ':'-separated dirs that is executable, or "".
std::string find_executable(const std::string &name, const std::string &dirs);

}  // namespace kiln
