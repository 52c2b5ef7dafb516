// The systemd driver: StartTransientUnit for the container's scope with the
// first pid (runc's properties: Delegate, accounting, DefaultDependencies=no,
// resources, org.systemd.property.* annotations), waits for the job, then
// lets the cgroupfs driver write the files as runc does. Update is
// SetUnitProperties plus the files; delete is StopUnit. Unit names are in
// systemd_unit.cpp, the property mapping in systemd_props.cpp, the bus in
// sdbus.cpp.
#include "cgroups/systemd.hpp"

#include <optional>

#include "cgroups/fs.hpp"
#include "cgroups/sdbus.hpp"
#include "kiln/error.hpp"

namespace kiln::cgroups {
namespace {

class SystemdManager : public Manager {
public:
    SystemdManager(std::unique_ptr<FsManager> fs, std::string unit, std::string slice = "", bool v2 = true,
                   std::vector<Property> extra = {})
        : fs_(std::move(fs)), unit_(std::move(unit)), slice_(std::move(slice)), v2_(v2), extra_(std::move(extra)) {}

    void create(const spec::Resources *res) override {
        if (res) res_ = *res;
        // Bad values fail here, before anything exists.
        props_ = resource_properties(res_ ? *res_ : spec::Resources{}, v2_, true);
        Bus::load();
    }

    void join(pid_t pid) override {
        if (!started_) {
            start(pid);
            started_ = true;
            // runc then makes sure of the path and writes the files itself.
            fs_->create(res_ ? &*res_ : nullptr);
        }
        fs_->join(pid);
    }

    void update(const spec::Resources &res) override {
        // Before systemd sets a limit that would OOM-kill the container.
        fs_->check_memory_usage(res);
        Bus bus;
        bus.set_properties(unit_, resource_properties(res, v2_, false));
        fs_->update(res);
    }

    void freeze(bool on) override { fs_->freeze(on); }
    bool frozen() const override { return fs_->frozen(); }
    std::vector<pid_t> pids() const override { return fs_->pids(); }
    void kill_all(int sig) const override { fs_->kill_all(sig); }
    unsigned long long oom_kills() const override { return fs_->oom_kills(); }
    void stats(json::Writer &w, int init_pid) const override { fs_->stats(w, init_pid); }
    const std::vector<std::string> &dirs() const override { return fs_->dirs(); }
    Record record() const override {
        Record r = fs_->record();
        r.driver = Driver::systemd;
        r.unit = unit_;
        return r;
    }

    void destroy() override {
        try {
            Bus bus;
            std::string result = bus.job_call("StopUnit", unit_, nullptr);
            if (result != "done" && result != "missing") bus.reset_failed(unit_);
        } catch (const Error &) {
            // The cgroup still goes below; systemd collects the unit itself.
        }
        fs_->destroy();
    }

private:
    void start(pid_t pid) {
        std::vector<Property> props;
        props.push_back(prop_s("Description", "kiln container " + unit_));
        if (unit_.ends_with(".slice")) {
            auto wants = prop("Wants", "as");
            wants.strs.push_back(slice_);
            props.push_back(wants);
        } else {
            props.push_back(prop_s("Slice", slice_));
            props.push_back(prop_b("Delegate", true));
            auto pids = prop("PIDs", "au");
            pids.u32s.push_back(uint32_t(pid));
            props.push_back(pids);
        }
        for (const char *a : {"MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting"})
            props.push_back(prop_b(a, true));
        props.push_back(prop_b("DefaultDependencies", false));
        props.insert(props.end(), props_.begin(), props_.end());
        props.insert(props.end(), extra_.begin(), extra_.end());
        Bus bus;
        std::string result = bus.job_call("StartTransientUnit", unit_, &props);
        if (result != "done" && result != "exists") {
            bus.reset_failed(unit_);
            throw Error("error creating systemd unit `" + unit_ + "`: got `" + result + "`");
        }
    }

    std::unique_ptr<FsManager> fs_;
    std::string unit_, slice_;
    bool v2_ = true;
    std::vector<Property> extra_, props_;
    std::optional<spec::Resources> res_;
    bool started_ = false;
};

}  // namespace

std::unique_ptr<Manager> make_systemd(const std::vector<Hierarchy> &hs, const Options &o) {
    SystemdUnit u = parse_systemd_path(o.cgroups_path, o.id);
    auto extra = annotation_properties(o.annotations);
    Options fs_opts = o;
    fs_opts.cgroups_path = u.path;  // absolute: the same under every hierarchy
    auto fs = std::make_unique<FsManager>(hs, fs_opts);
    return std::make_unique<SystemdManager>(std::move(fs), u.name, u.slice, layout_of(hs) == Layout::v2, std::move(extra));
}

std::unique_ptr<Manager> open_systemd(std::unique_ptr<FsManager> fs, const std::string &unit) {
    bool v2 = layout_of(fs->hierarchies()) == Layout::v2;
    return std::make_unique<SystemdManager>(std::move(fs), unit, "", v2);
}

}  // namespace kiln::cgroups
