// linux.intelRdt through the resctrl filesystem, as runc 1.4 does it: the
// container's processes go into a resource group (the closID's, or one
// named after the container), its schemata are written there, and with
// enableMonitoring into a monitoring group mon_groups/<id> of it.
#include "linux/resctrl.hpp"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kiln/error.hpp"
#include "util/fd.hpp"

namespace kiln::resctrl {
namespace {

constexpr unsigned long kResctrlMagic = 0x7655821;  // RDTGROUP_SUPER_MAGIC
constexpr const char *kDefaultRoot = "/sys/fs/resctrl";

// The mount point of the first resctrl in our mountinfo ("" for none).
std::string find_in_mountinfo() {
    std::string text;
    if (!try_read_file("/proc/self/mountinfo", text)) return "";
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        std::string line = text.substr(pos, end - pos);
        pos = end == std::string::npos ? text.size() : end + 1;
        size_t sep = line.find(" - ");
        if (sep == std::string::npos || line.compare(sep + 3, 8, "resctrl ") != 0) continue;
        // field 5 is the mount point (octal escapes aside: resctrl sits at plain paths)
        size_t f = 0;
        for (int i = 0; i < 4 && f != std::string::npos; i++) f = line.find(' ', f + 1);
        if (f == std::string::npos) continue;
        return line.substr(f + 1, line.find(' ', f + 1) - f - 1);
    }
    return "";
}

bool exists(const std::string &p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0;
}

// resctrl explains a refused write in info/last_cmd_status.
[[noreturn]] void fail_write(const std::string &root, const std::string &what, int err) {
    std::string status;
    std::string msg = what + ": " + std::strerror(err);
    if (try_read_file(root + "/info/last_cmd_status", status)) {
        while (!status.empty() && status.back() == '\n') status.pop_back();
        msg += ", last_cmd_status: " + status;
    }
    throw Error(msg, err);
}

void write_schemata(const Group &g, const std::string &schemata) {
    UniqueFd fd(::open((g.path + "/schemata").c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || !write_all(fd.get(), schemata))
        fail_write(g.root, "linux.intelRdt: intelrdt: unable to write \"" + schemata + "\"", errno);
}

void write_tasks(const std::string &root, const std::string &dir, pid_t pid) {
    UniqueFd fd(::open((dir + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || !write_all(fd.get(), std::to_string(pid)))
        fail_write(root, "linux.intelRdt: intelrdt: unable to add pid " + std::to_string(pid), errno);
}

}  // namespace

std::string root() {
    struct statfs sf;
    if (::statfs(kDefaultRoot, &sf) < 0) return "";  // no resctrl in this kernel or hardware
    if (static_cast<unsigned long>(sf.f_type) == kResctrlMagic) return kDefaultRoot;
    return find_in_mountinfo();
}

void check(const spec::IntelRdt &r, const std::string &root) {
    if (root.empty())
        throw Error("config.json: linux.intelRdt: intelRdt is specified in config, but Intel RDT is not enabled "
                    "(no resctrl filesystem on this host)");
    if (!r.l3CacheSchema.empty() && !exists(root + "/info/L3"))
        throw Error("config.json: linux.intelRdt.l3CacheSchema: is specified in config, but Intel RDT/CAT is not enabled");
    if (!r.memBwSchema.empty() && !exists(root + "/info/MB"))
        throw Error("config.json: linux.intelRdt.memBwSchema: is specified in config, but Intel RDT/MBA is not enabled");
    if (r.enableMonitoring && !exists(root + "/info/L3_MON"))
        throw Error("config.json: linux.intelRdt.enableMonitoring: is specified in config, but resctrl has no monitoring (info/L3_MON)");
}

Group apply(const spec::IntelRdt &r, const std::string &id, pid_t pid, const std::string &root) {
    Group g;
    g.root = root;
    const std::string &clos = r.closID.empty() ? id : r.closID;
    g.path = clos == "/" ? root : root + "/" + clos;
    std::string schemata;
    for (const std::string *s : {&r.l3CacheSchema, &r.memBwSchema})
        if (!s->empty()) schemata += *s + "\n";
    for (auto &s : r.schemata)
        if (!s.empty()) schemata += s + "\n";
    // A named group without schemata is one somebody prepared for us: it must exist.
    if (!r.closID.empty() && schemata.empty() && !exists(g.path))
        throw Error("linux.intelRdt.closID: clos dir " + g.path +
                    " not accessible (must be pre-created when schemata, l3CacheSchema and memBwSchema are empty)");
    if (::mkdir(g.path.c_str(), 0755) == 0)
        g.created = true;
    else if (errno != EEXIST)
        fail_write(root, "linux.intelRdt: mkdir " + g.path, errno);
    try {
        if (!schemata.empty()) write_schemata(g, schemata);
        write_tasks(root, g.path, pid);
        if (r.enableMonitoring || r.enableCMT || r.enableMBM) {
            g.mon = g.path + "/mon_groups/" + id;
            if (::mkdir(g.mon.c_str(), 0755) < 0 && errno != EEXIST) fail_write(root, "linux.intelRdt: mkdir " + g.mon, errno);
            write_tasks(root, g.mon, pid);
        }
    } catch (...) {
        destroy(g);
        throw;
    }
    return g;
}

void join(const Group &g, pid_t pid) {
    if (!g.path.empty()) write_tasks(g.root, g.mon.empty() ? g.path : g.mon, pid);
}

// runc's rule: only what we made goes, and a shared (named) group stays.
void destroy(const Group &g) {
    if (!g.mon.empty()) ::rmdir(g.mon.c_str());
    if (g.created) ::rmdir(g.path.c_str());
}

void update(const std::string &root, const Group &g, const std::string &l3, const std::string &mb) {
    if (!l3.empty() && (root.empty() || !exists(root + "/info/L3"))) throw Error("Intel RDT/CAT: l3 cache schema is not enabled");
    if (!mb.empty() && (root.empty() || !exists(root + "/info/MB")))
        throw Error("Intel RDT/MBA: memory bandwidth schema is not enabled");
    if (g.path.empty()) throw Error("updating a non-existent Intel RDT configuration is not supported");
    std::string schemata;
    for (const std::string *s : {&l3, &mb})
        if (!s->empty()) schemata += *s + "\n";
    write_schemata(g, schemata);
}

}  // namespace kiln::resctrl
