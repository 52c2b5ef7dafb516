// Internals shared by the cgroupfs drivers (v1.cpp, v2.cpp, fs.cpp) and the
// systemd driver, exposed for the unit tests: the writers take the cgroup
// directory, so they run against a fake tree as well as the kernel's.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cgroups/cgroup.hpp"
#include "cgroups/files.hpp"

namespace kiln::cgroups {

// Every file the drivers write goes through files() (files.hpp).
inline void write(const std::string &dir, const std::string &file, const std::string &value) {
    files().write(dir, file, value);
}
inline bool exists(const std::string &dir, const std::string &file) { return files().exists(dir + "/" + file); }
inline bool read(const std::string &path, std::string &out) { return files().read(path, out); }

// The cgroup directories right below dir.
std::vector<std::string> sub_cgroups(const std::string &dir);

// True when res asks for any limit (devices aside): a rootless container
// without cgroups must fail rather than run unlimited.
bool wants_limits(const spec::Resources *res);

// runc's conversions.
uint64_t shares_to_weight(uint64_t shares);             // cpu.shares -> cpu.weight
uint64_t blkio_to_io_weight(uint16_t weight);           // blkio.weight -> io.weight
int64_t swap_to_v2(int64_t memory_swap, int64_t memory);  // memory+swap -> memory.swap.max (-1 = max)

// rdma.max line: "mlx5_1 hca_handle=3 hca_object=max".
std::string rdma_line(const std::string &device, const spec::Rdma &r);

// v1: the files of h's controllers in dir. `update` leaves devices alone and
// honours memory.checkBeforeUpdate.
void write_v1(const Hierarchy &h, const std::string &dir, const spec::Resources &r, bool update);
// v2: the files in dir (devices are the eBPF program, see devices_bpf.hpp).
void write_v2(const std::string &dir, const spec::Resources &r, bool update);
// v2: enables every available controller in cgroup.subtree_control of each
// level from mount down to the parent of mount+rel, as runc does.
void enable_controllers(const std::string &mount, const std::string &rel);

// The cgroupfs manager: one directory per hierarchy of hs.
class FsManager : public Manager {
public:
    FsManager(std::vector<Hierarchy> hs, const Options &o);
    FsManager(std::vector<Hierarchy> hs, std::vector<std::string> dirs) : hs_(std::move(hs)), dirs_(std::move(dirs)) {}

    void create(const spec::Resources *res) override;
    void join(pid_t pid) override;
    void update(const spec::Resources &res) override;
    void freeze(bool on) override;
    bool frozen() const override;
    std::vector<pid_t> pids() const override;
    void kill_all(int sig) const override;
    unsigned long long oom_kills() const override;
    void stats(json::Writer &w, int init_pid) const override;
    void destroy() override;
    const std::vector<std::string> &dirs() const override { return dirs_; }
    Record record() const override;
    const std::vector<Hierarchy> &hierarchies() const { return hs_; }
    // memory.checkBeforeUpdate: throws when the new limit is below the usage.
    void check_memory_usage(const spec::Resources &res) const;
    // The one cgroup that freezes the container (v1 freezer, else v2); nullptr: none.
    const std::string *freezer_dir(bool &v1) const;

private:
    void apply(const spec::Resources &res, bool update);
    void check_not_populated(const std::vector<std::string> &created) const;
    void attach_v2_devices(const std::string &dir, const spec::Resources &res);
    std::vector<Hierarchy> hs_;
    std::vector<std::string> dirs_;
    std::vector<std::string> rels_;
    bool rootless_ = false;
    bool refuse_populated_ = false;  // cgroupfs driver: a pre-existing leaf must hold no process
    bool path_given_ = false;        // linux.cgroupsPath was set
};

// Stats from cgroupfs (stats.cpp).
void write_stats(json::Writer &w, const std::vector<Hierarchy> &hs, const std::vector<std::string> &dirs, int init_pid);

}  // namespace kiln::cgroups
