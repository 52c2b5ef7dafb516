// The cgroup write seam: the kernel's files and the recording fake.
#include "cgroups/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kiln/error.hpp"
#include "util/fd.hpp"

namespace kiln::cgroups {
namespace {

RealFiles real_files;
Files *current = &real_files;

std::string parent_of(const std::string &path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Files &files() { return *current; }

UseFiles::UseFiles(Files &f) : prev_(current) { current = &f; }
UseFiles::~UseFiles() { current = prev_; }

void RealFiles::write(const std::string &dir, const std::string &file, const std::string &value) {
    write_file(dir + "/" + file, value);
}

void RealFiles::write_each(const std::string &dir, const std::string &file, const std::vector<std::string> &values) {
    std::string path = dir + "/" + file;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    for (const auto &v : values)
        if (!write_all(fd.get(), v)) throw_errno("write " + path);
}

bool RealFiles::read(const std::string &path, std::string &out) const { return try_read_file(path, out); }

bool RealFiles::exists(const std::string &path) const { return ::access(path.c_str(), F_OK) == 0; }

int RealFiles::mkdir(const std::string &dir) { return ::mkdir(dir.c_str(), 0755) == 0 ? 0 : errno; }

int RealFiles::rmdir(const std::string &dir) { return ::rmdir(dir.c_str()) == 0 ? 0 : errno; }

std::vector<std::string> RealFiles::subdirs(const std::string &dir) const {
    std::vector<std::string> out;
    DIR *d = ::opendir(dir.c_str());
    if (!d) return out;
    while (auto *e = ::readdir(d))
        if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
            out.push_back(dir + "/" + e->d_name);
    ::closedir(d);
    return out;
}

void FakeFiles::add(const std::string &dir, const std::map<std::string, std::string> &with) {
    for (std::string d = dir; d != "/" && !d.empty() && dirs.insert(d).second;) d = parent_of(d);
    for (auto &[name, text] : with) content[dir + "/" + name] = text;
}

std::vector<std::string> FakeFiles::writes(const std::string &path) const {
    std::vector<std::string> out;
    for (auto &op : log)
        if (op.what == "write" && op.path == path) out.push_back(op.value);
    return out;
}

void FakeFiles::write(const std::string &dir, const std::string &file, const std::string &value) {
    std::string path = dir + "/" + file;
    // Like cgroupfs: no file is created by a write.
    if (!content.count(path)) throw Error("open " + path + ": " + std::strerror(ENOENT), ENOENT);
    if (auto f = fail.find(path); f != fail.end()) throw Error("write " + path + ": " + std::strerror(f->second), f->second);
    log.push_back({"write", path, value});
    content[path] = value;
}

bool FakeFiles::read(const std::string &path, std::string &out) const {
    auto it = content.find(path);
    if (it == content.end()) return false;
    out = it->second;
    return true;
}

bool FakeFiles::exists(const std::string &path) const { return content.count(path) || dirs.count(path); }

int FakeFiles::mkdir(const std::string &dir) {
    if (auto f = fail.find(dir); f != fail.end()) return f->second;
    if (dirs.count(dir)) return EEXIST;
    if (!dirs.count(parent_of(dir))) return ENOENT;
    dirs.insert(dir);
    std::string parent = parent_of(dir);
    std::vector<std::string> names;
    for (auto it = content.lower_bound(parent + "/"); it != content.end() && it->first.rfind(parent + "/", 0) == 0; ++it)
        if (it->first.find('/', parent.size() + 1) == std::string::npos) names.push_back(it->first.substr(parent.size()));
    for (auto &n : names) content[dir + n] = "";
    log.push_back({"mkdir", dir, ""});
    return 0;
}

int FakeFiles::rmdir(const std::string &dir) {
    if (auto f = fail.find(dir); f != fail.end()) return f->second;
    if (!dirs.count(dir)) return ENOENT;
    if (!subdirs(dir).empty()) return EBUSY;
    std::string procs;
    if (read(dir + "/cgroup.procs", procs) && !procs.empty()) return EBUSY;
    dirs.erase(dir);
    for (auto it = content.lower_bound(dir + "/"); it != content.end() && it->first.rfind(dir + "/", 0) == 0;)
        it = content.erase(it);
    log.push_back({"rmdir", dir, ""});
    return 0;
}

std::vector<std::string> FakeFiles::subdirs(const std::string &dir) const {
    std::vector<std::string> out;
    for (auto it = dirs.upper_bound(dir + "/"); it != dirs.end() && it->rfind(dir + "/", 0) == 0; ++it)
        if (it->find('/', dir.size() + 1) == std::string::npos) out.push_back(*it);
    return out;
}

}  // namespace kiln::cgroups
