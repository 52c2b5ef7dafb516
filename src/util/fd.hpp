// RAII file descriptor and small file helpers used across the runtime.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>

namespace kiln {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd &operator=(UniqueFd &&o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// Whole file as a string; throws Error("open PATH: ...") on failure.
std::string read_file(const std::string &path);
// Like read_file but returns false instead of throwing.
bool try_read_file(const std::string &path, std::string &out);
std::string read_fd(int fd);
// A small regular file or a one-record /proc file (/proc/PID/stat) at name
// relative to dirfd (AT_FDCWD: a path), usually with one read(): for those a
// read shorter than the buffer is the end. Not for seq_file lists such as
// mountinfo, which return one page at a time. false with errno on open failure.
// flags: more open flags (O_NOFOLLOW).
bool try_read_small_file(int dirfd, const char *name, std::string &out, int flags = 0);
// Opens O_WRONLY|O_TRUNC (no create) and writes; throws Error("write PATH: ...").
void write_file(const std::string &path, std::string_view data);
// Writes everything, retrying on EINTR/short writes; false with errno set on error.
bool write_all(int fd, std::string_view data);
// Writes data to name in the directory dirfd atomically: a temp file of an
// unpredictable name made there with O_EXCL (no symlink is followed, no
// existing file reused), then renamed over name; no fsync.
void write_file_atomic(int dirfd, const std::string &name, std::string_view data, mode_t mode);
// The same by path: the directory of path is opened once, then as above.
void write_file_atomic(const std::string &path, std::string_view data, mode_t mode);
// mkdir -p; existing dirs are fine.
void mkdir_all(const std::string &path, mode_t mode);

}  // namespace kiln
