// The cgroup write seam: every file write, read, mkdir and rmdir the
// drivers make goes through the current Files, the kernel's by default, so
// unit tests run the drivers against FakeFiles (in memory, recording)
// without root.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace kiln::cgroups {

class Files {
public:
    virtual ~Files() = default;
    // One write of value to dir/file (some files take one line per write:
    // io.max, devices.allow). Throws Error("open|write PATH: why", errno).
    virtual void write(const std::string &dir, const std::string &file, const std::string &value) = 0;
    // One write per value, in order (devices.allow takes one rule per write).
    virtual void write_each(const std::string &dir, const std::string &file, const std::vector<std::string> &values) {
        for (const auto &v : values) write(dir, file, v);
    }
    // The whole file; false when it cannot be opened.
    virtual bool read(const std::string &path, std::string &out) const = 0;
    virtual bool exists(const std::string &path) const = 0;
    // 0 on success, else the errno.
    virtual int mkdir(const std::string &dir) = 0;
    virtual int rmdir(const std::string &dir) = 0;
    // The directories right below dir, as dir/name ("." and ".." left out).
    virtual std::vector<std::string> subdirs(const std::string &dir) const = 0;
};

// The one in use.
Files &files();

// Puts f in use until this goes out of scope (tests).
class UseFiles {
public:
    explicit UseFiles(Files &f);
    ~UseFiles();
    UseFiles(const UseFiles &) = delete;
    UseFiles &operator=(const UseFiles &) = delete;

private:
    Files *prev_;
};

// The kernel's cgroupfs: open(2) O_CLOEXEC, write(2), close per file (per run of writes to one file).
class RealFiles : public Files {
public:
    void write(const std::string &dir, const std::string &file, const std::string &value) override;
    // Through one open of the file.
    void write_each(const std::string &dir, const std::string &file, const std::vector<std::string> &values) override;
    bool read(const std::string &path, std::string &out) const override;
    bool exists(const std::string &path) const override;
    int mkdir(const std::string &dir) override;
    int rmdir(const std::string &dir) override;
    std::vector<std::string> subdirs(const std::string &dir) const override;
};

// An in-memory tree that records every change, in order. Like cgroupfs, a
// write never makes a file and mkdir makes a new cgroup with its parent's
// file names, empty (a new v1 cpuset has no cpus or mems yet).
class FakeFiles : public Files {
public:
    struct Op {
        std::string what;  // "write", "mkdir", "rmdir"
        std::string path;
        std::string value;  // what was written
        bool operator==(const Op &) const = default;
    };
    std::map<std::string, std::string> content;  // path -> its text (the last write)
    std::set<std::string> dirs;
    std::map<std::string, int> fail;  // path -> the errno its write, mkdir or rmdir gets
    std::vector<Op> log;

    // A directory (and its parents) with files in it: {"cpuset.cpus", "0-3\n"}.
    void add(const std::string &dir, const std::map<std::string, std::string> &with = {});
    // The values written to path, in order.
    std::vector<std::string> writes(const std::string &path) const;

    void write(const std::string &dir, const std::string &file, const std::string &value) override;
    bool read(const std::string &path, std::string &out) const override;
    bool exists(const std::string &path) const override;
    int mkdir(const std::string &dir) override;
    int rmdir(const std::string &dir) override;
    std::vector<std::string> subdirs(const std::string &dir) const override;
};

}  // namespace kiln::cgroups
