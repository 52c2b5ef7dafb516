#include "kiln/error.hpp"

#include <cstring>

namespace kiln {

std::string errno_message(const std::string &what, int err) {
    return what + ": " + std::strerror(err);
}

std::string go_lower(std::string s) {
    if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
    return s;
}

std::string go_strerror(int err) { return go_lower(std::strerror(err)); }

void throw_errno(const std::string &what) { throw_errno(what, errno); }

void throw_errno(const std::string &what, int err) { throw Error(errno_message(what, err), err); }

}  // namespace kiln
