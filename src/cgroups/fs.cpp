// The cgroupfs manager (v1, hybrid and v2 layouts); its files go through the write seam.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cgroups/devices_bpf.hpp"
#include "cgroups/fs.hpp"
#include "cgroups/systemd.hpp"
#include "kiln/error.hpp"
#include "util/fd.hpp"
#include "util/unsafe.hpp"

namespace kiln::cgroups {

bool wants_limits(const spec::Resources *r) {
    if (!r) return false;
    return r->memory || r->cpu || r->pids || r->blockIO || !r->hugepageLimits.empty() || r->network ||
           !r->rdma.empty() || !r->unified.empty();
}

namespace {

void sleep_ms(long ms) {
    struct timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
    ::nanosleep(&ts, nullptr);
}

// Sub-cgroups the container made (exec --cgroup targets, a nested manager),
// deepest first, as runc's RemovePath: otherwise the rmdir is EBUSY for ever.
void remove_subdirs(const std::string &dir) {
    for (auto &s : files().subdirs(dir)) {
        remove_subdirs(s);
        files().rmdir(s);
    }
}

// mkdir each missing level below the hierarchy root; in v1 cpuset a level
// with empty cpus/mems (a new one, or a parent someone else made with a
// plain mkdir, like a pod's) gets its parent's, as runc's cpusetEnsureParent:
// else joining fails with ENOSPC.
void make_dirs(const Hierarchy &h, const std::string &rel, std::vector<std::string> &created) {
    bool cpuset = !h.v2 && has_controller(h, "cpuset");
    std::string dir = h.mount;
    std::string known[2];  // this level's cpus and mems once read: the next level's parent values
    size_t start = 0;
    while (start < rel.size()) {
        size_t end = rel.find('/', start);
        if (end == std::string::npos) end = rel.size();
        std::string part = rel.substr(start, end - start);
        start = end + 1;
        if (part.empty()) continue;
        std::string parent = dir;
        dir += "/" + part;
        if (int err = files().mkdir(dir); err == 0)
            created.push_back(dir);
        else if (err != EEXIST)
            throw Error("mkdir " + dir + ": " + go_strerror(err), err);  // runc's (Go's) words
        if (!cpuset) continue;
        const char *names[2] = {"cpuset.cpus", "cpuset.mems"};
        for (int i = 0; i < 2; i++) {
            std::string from = std::move(known[i]), v;
            if (read(dir + "/" + names[i], v) && v != "\n" && !v.empty()) {
                known[i] = std::move(v);
                continue;
            }
            if (from.empty() && !read(parent + "/" + names[i], from)) throw_errno("open " + parent + "/" + names[i]);
            write(dir, names[i], from);
            known[i] = std::move(from);
        }
    }
}

// v1: a limit whose controller has no hierarchy here cannot be set; runc
// fails with "cannot set X limit: container could not join or create cgroup".
void check_v1_controllers(const std::vector<Hierarchy> &hs, const spec::Resources &r) {
    auto need = [&](bool asked, const char *ctrl, const char *field) {
        if (!asked) return;
        for (auto &h : hs)
            if (!h.v2 && has_controller(h, ctrl)) return;
        throw Error(std::string(field) + ": cannot set " + ctrl + " limit: no " + ctrl + " cgroup hierarchy on this host");
    };
    if (auto &m = r.memory)
        need(m->limit || m->reservation || m->swap || m->kernelTCP || m->swappiness || m->disableOOMKiller.value_or(false),
             "memory", "linux.resources.memory");
    if (auto &c = r.cpu) {
        need(c->shares || c->quota || c->period || c->burst || c->realtimePeriod || c->realtimeRuntime || c->idle, "cpu",
             "linux.resources.cpu");
        need(!c->cpus.empty() || !c->mems.empty(), "cpuset", "linux.resources.cpu.cpus");
    }
    need(r.pids && r.pids->limit, "pids", "linux.resources.pids");
    if (auto &b = r.blockIO)
        need(b->weight.value_or(0) || b->leafWeight.value_or(0) || !b->weightDevice.empty() ||
                 !b->throttleReadBpsDevice.empty() || !b->throttleWriteBpsDevice.empty() ||
                 !b->throttleReadIOPSDevice.empty() || !b->throttleWriteIOPSDevice.empty(),
             "blkio", "linux.resources.blockIO");
    need(!r.hugepageLimits.empty(), "hugetlb", "linux.resources.hugepageLimits");
    need(r.network && r.network->classID, "net_cls", "linux.resources.network.classID");
    need(r.network && !r.network->priorities.empty(), "net_prio", "linux.resources.network.priorities");
    need(!r.rdma.empty(), "rdma", "linux.resources.rdma");
}

bool permission_error(int e) { return e == EACCES || e == EPERM || e == EROFS; }

// The pids of dir/cgroup.procs, and with recursive of every cgroup below:
// a process moved into a sub-cgroup (exec --cgroup, a nested runtime) is
// still the container's.
void collect_pids(const std::string &dir, bool recursive, std::vector<pid_t> &out) {
    std::string text;
    if (read(dir + "/cgroup.procs", text))
        for (size_t pos = 0; pos < text.size();) {
            size_t end = std::min(text.find('\n', pos), text.size());
            if (end > pos) out.push_back(static_cast<pid_t>(std::stol(text.substr(pos, end - pos))));
            pos = end + 1;
        }
    if (!recursive) return;
    for (auto &sub : sub_cgroups(dir)) collect_pids(sub, true, out);
}

// Removes dir and the cgroups below it, deepest first; false while busy.
bool remove_tree(const std::string &dir) {
    for (auto &sub : sub_cgroups(dir)) remove_tree(sub);
    int err = files().rmdir(dir);
    errno = err;
    return err == 0 || err == ENOENT;
}

// pids(), kill --all and delete see sub-cgroups (unsafe knob: the top only).
bool whole_tree() { return !unsafe::off("cgroup-kill"); }

}  // namespace

std::vector<std::string> sub_cgroups(const std::string &dir) {
    std::vector<std::string> out;
    for (auto &d : files().subdirs(dir))
        if (d[d.find_last_of('/') + 1] != '.') out.push_back(d);
    return out;
}

FsManager::FsManager(std::vector<Hierarchy> hs, const Options &o)
    : hs_(std::move(hs)), rootless_(o.rootless), refuse_populated_(!o.systemd), path_given_(!o.cgroups_path.empty()) {
    bool pure_v2 = layout_of(hs_) == Layout::v2;
    for (auto &h : hs_) {
        rels_.push_back(relative_path(h, o.cgroups_path, o.id, pure_v2));
        dirs_.push_back(h.mount + (rels_.back() == "/" ? "" : rels_.back()));
    }
}

void FsManager::create(const spec::Resources *res) {
    std::vector<std::string> created;
    // Leaves nothing for destroy(): a pre-existing cgroup is not ours to
    // remove, nor its processes ours to kill.
    auto undo = [&] {
        for (auto it = created.rbegin(); it != created.rend(); ++it) files().rmdir(*it);
        if (!unsafe::off("foreign-cgroup")) dirs_.clear();
    };
    bool v2 = layout_of(hs_) == Layout::v2;
    try {
        for (size_t i = 0; i < hs_.size(); i++) {
            make_dirs(hs_[i], rels_[i], created);
            if (v2) enable_controllers(hs_[i].mount, rels_[i]);
        }
        check_not_populated(created);
    } catch (const Error &e) {
        undo();
        // runc's rootless rule: no cgroup is fine when nothing is limited
        // and no cgroupsPath was asked for; its words otherwise.
        if (rootless_ && permission_error(e.code()) && !path_given_) {
            if (!wants_limits(res)) {
                dirs_.clear();
                return;
            }
            throw Error(std::string("rootless needs no limits + no cgrouppath when no permission is granted for cgroups: ") +
                            e.what(),
                        e.code());
        }
        if (permission_error(e.code()))
            throw Error(std::string("unable to apply cgroup configuration: ") + e.what(), e.code());
        throw;
    }
    try {
        // Device rules apply even without linux.resources: runc's defaults.
        apply(res ? *res : spec::Resources{}, false);
    } catch (...) {
        undo();
        throw;
    }
}

// runc 1.2's rule (1.1 warned it was coming): a cgroupsPath naming a cgroup
// that already holds processes (even "/") is refused; kill --all, delete,
// pause and update would act on processes that are not the container's.
void FsManager::check_not_populated(const std::vector<std::string> &created) const {
    if (!refuse_populated_ || unsafe::off("foreign-cgroup")) return;
    for (auto &d : dirs_) {
        if (std::find(created.begin(), created.end(), d) != created.end()) continue;
        std::vector<pid_t> found;
        collect_pids(d, true, found);
        if (!found.empty())
            throw Error("container's cgroup is not empty: " + std::to_string(found.size()) + " process(es) found in " + d);
    }
}

void FsManager::apply(const spec::Resources &res, bool update) {
    bool v2 = layout_of(hs_) == Layout::v2;
    if (!v2 && !hs_.empty() && !res.unified.empty())
        throw Error("linux.resources.unified: invalid configuration: cannot use unified on cgroup v1");
    if (!v2 && !hs_.empty()) check_v1_controllers(hs_, res);
    for (size_t i = 0; i < hs_.size() && i < dirs_.size(); i++) {
        if (!hs_[i].v2) {
            write_v1(hs_[i], dirs_[i], res, update);
        } else if (v2) {
            // On a hybrid host the cgroup2 mount is only joined, as runc does.
            write_v2(dirs_[i], res, update);
            if (!update) attach_v2_devices(dirs_[i], res);
        }
    }
}

// A user without CAP_SYS_ADMIN cannot load the eBPF device filter; runc
// then goes on without it (the user namespace keeps host devices out of
// reach anyway: no mknod, nodev mounts).
void FsManager::attach_v2_devices(const std::string &dir, const spec::Resources &res) {
    try {
        attach_device_filter(dir, device_filter(simplify_device_rules(with_default_devices(res.devices))));
    } catch (const Error &e) {
        if (!rootless_ || !permission_error(e.code())) throw;
    }
}

void FsManager::update(const spec::Resources &res) { apply(res, true); }

void FsManager::check_memory_usage(const spec::Resources &res) const {
    if (!res.memory || !res.memory->checkBeforeUpdate.value_or(false)) return;
    int64_t limit = res.memory->limit.value_or(0);
    if (limit <= 0) return;
    for (size_t i = 0; i < hs_.size() && i < dirs_.size(); i++) {
        const char *file = hs_[i].v2 ? "memory.current" : has_controller(hs_[i], "memory") ? "memory.usage_in_bytes" : nullptr;
        std::string v;
        if (!file || !read(dirs_[i] + "/" + file, v)) continue;
        unsigned long long usage = std::strtoull(v.c_str(), nullptr, 10);
        if (static_cast<unsigned long long>(limit) < usage)
            throw Error("rejecting memory limit " + std::to_string(limit) + " below usage " + std::to_string(usage));
    }
}

void FsManager::join(pid_t pid) {
    std::string p = std::to_string(pid);
    for (auto &d : dirs_) {
        try {
            write(d, "cgroup.procs", p);
        } catch (const Error &e) {
            if (!e.code()) throw;
            // runc's words: exec --cgroup with a missing sub-cgroup reports
            // "adding pid N to cgroups: ...cgroup.procs: no such file or directory".
            throw Error("adding pid " + p + " to cgroups: write " + d + "/cgroup.procs: " + go_strerror(e.code()), e.code());
        }
    }
}

std::vector<pid_t> FsManager::pids() const {
    std::vector<pid_t> out;
    // Every hierarchy: a process may have moved down in one and not another.
    for (auto &d : dirs_) {
        collect_pids(d, whole_tree(), out);
        if (!whole_tree() && !out.empty()) break;
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void FsManager::kill_all(int sig) const {
    // cgroup.kill (5.14) kills the v2 subtree, new forks included.
    if (sig == SIGKILL && whole_tree())
        for (size_t i = 0; i < dirs_.size() && i < hs_.size(); i++) {
            if (!hs_[i].v2) continue;
            try {
                write(dirs_[i], "cgroup.kill", "1");
                return;
            } catch (const Error &) {
                // Before 5.14: one signal per process below.
            }
        }
    for (pid_t p : pids()) ::kill(p, sig);
}

// The one cgroup that freezes the container: the v1 freezer hierarchy when
// there is one (hybrid hosts), else the v2 dir. nullptr: neither.
const std::string *FsManager::freezer_dir(bool &v1) const {
    const std::string *v2_dir = nullptr;
    for (size_t i = 0; i < dirs_.size() && i < hs_.size(); i++) {
        if (hs_[i].v2) {
            v2_dir = &dirs_[i];
        } else if (has_controller(hs_[i], "freezer")) {
            v1 = true;
            return &dirs_[i];
        }
    }
    v1 = false;
    return v2_dir;
}

// `state` and `list` ask this of every running container: one read.
bool FsManager::frozen() const {
    bool v1;
    const std::string *d = freezer_dir(v1);
    std::string v;
    if (!d || !read(*d + (v1 ? "/freezer.state" : "/cgroup.freeze"), v)) return false;
    return v1 ? v.rfind("FROZEN", 0) == 0 || v.rfind("FREEZING", 0) == 0 : v.rfind("1", 0) == 0;
}

void FsManager::freeze(bool on) {
    bool v1;
    const std::string *dir = freezer_dir(v1);
    if (!dir) throw Error("the container has no freezer cgroup");
    const std::string &d = *dir;
    write(d, v1 ? "freezer.state" : "cgroup.freeze", v1 ? (on ? "FROZEN" : "THAWED") : (on ? "1" : "0"));
    // v1 passes through FREEZING while tasks stop; v2 reports "frozen 1" in cgroup.events.
    for (int tries = 0; tries < 1000; tries++) {
        std::string now;
        if (v1) {
            if (read(d + "/freezer.state", now) && now.rfind(on ? "FROZEN" : "THAWED", 0) == 0) return;
        } else if (read(d + "/cgroup.events", now) &&
                   now.find(on ? "frozen 1" : "frozen 0") != std::string::npos) {
            return;
        }
        sleep_ms(1);
    }
    throw Error(std::string("timed out waiting for the cgroup to ") + (on ? "freeze" : "thaw"));
}

unsigned long long FsManager::oom_kills() const {
    for (auto &d : dirs_) {
        // v1 memory.oom_control and v2 memory.events both have "oom_kill N".
        for (const char *f : {"/memory.oom_control", "/memory.events"}) {
            std::string text;
            if (!read(d + f, text)) continue;
            auto pos = text.find("oom_kill ");
            return pos == std::string::npos ? 0 : std::strtoull(text.c_str() + pos + 9, nullptr, 10);
        }
    }
    return 0;
}

void FsManager::stats(json::Writer &w, int init_pid) const { write_stats(w, hs_, dirs_, init_pid); }

Record FsManager::record() const {
    Record r;
    if (dirs_.empty()) return r;  // running without cgroups (rootless)
    switch (layout_of(hs_)) {
    case Layout::v1: r.driver = Driver::v1; break;
    case Layout::hybrid: r.driver = Driver::hybrid; break;
    case Layout::v2: r.driver = Driver::v2; break;
    case Layout::none: break;
    }
    r.hs = hs_;
    for (auto &h : r.hs) h.own.clear();  // kiln's own cgroup at create: not the container's
    r.dirs = dirs_;
    return r;
}

void FsManager::destroy() {
    std::string failed;  // the first dir left, with why
    for (auto &d : dirs_) {
        // Usually nothing is left in it or below it: one rmdir, no listing.
        if (int err = files().rmdir(d); err == 0 || err == ENOENT) continue;
        // A process that was just killed leaves the cgroup a little later;
        // kill -9 races can also leave a straggler: retry until empty.
        for (int tries = 0;; tries++) {
            remove_subdirs(d);
            int err = files().rmdir(d);
            if (err == 0 || err == ENOENT) break;
            // Busy: processes, or cgroups below (removed deepest first).
            if (err == EBUSY && whole_tree() && remove_tree(d)) break;
            if (err == EBUSY && whole_tree()) err = errno;
            if (err != EBUSY || tries == 2500) {
                if (failed.empty()) failed = errno_message("remove cgroup " + d, err);
                break;
            }
            // Something forked while the container was being killed: kill it too.
            if (tries % 100 == 99) {
                std::vector<pid_t> left;
                collect_pids(d, whole_tree(), left);
                for (pid_t p : left) ::kill(p, SIGKILL);
            }
            sleep_ms(2);
        }
    }
    // The caller keeps the container's record, which names the cgroup.
    if (!failed.empty()) throw Error(failed);
}

}  // namespace kiln::cgroups
