// One error type for the whole runtime: a message with context, plus the errno
// when a system call failed. Messages read like runc's because engines parse them.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace kiln {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string &msg, int err = 0) : std::runtime_error(msg), errno_(err) {}
    int code() const noexcept { return errno_; }

private:
    int errno_;
};

// "open /run/kiln/x/state.json: No such file or directory"
std::string errno_message(const std::string &what, int err);

// C library texts as Go spells them (runc's): the first letter lower-case.
std::string go_lower(std::string s);
// "no such file or directory"
std::string go_strerror(int err);

// Throws Error(what + ": " + strerror(errno), errno).
[[noreturn]] void throw_errno(const std::string &what);
[[noreturn]] void throw_errno(const std::string &what, int err);

}  // namespace kiln
