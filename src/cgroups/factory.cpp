// The driver factory: a new container's manager from its options, an
// existing one's from what its state recorded.
#include <algorithm>

#include "cgroups/fs.hpp"
#include "cgroups/systemd.hpp"

namespace kiln::cgroups {

std::unique_ptr<Manager> make(const Options &o) {
    if (o.systemd) return make_systemd(hierarchies(), o);
    return std::make_unique<FsManager>(hierarchies(), o);
}

// The directories alone: removing them needs no hierarchy (mountinfo) lookup.
void destroy(const Record &r) {
    if (!r.unit.empty()) return open(r)->destroy();
    FsManager({}, r.dirs).destroy();
}

std::vector<Hierarchy> hierarchies_of(const Record &r) {
    if (r.hs.size() == r.dirs.size()) return r.hs;
    // An older kiln's record: its dirs line up with the hierarchies of today.
    auto &now = hierarchies();
    return {now.begin(), now.begin() + std::min(now.size(), r.dirs.size())};
}

std::unique_ptr<Manager> open(const Record &r) {
    auto fs = std::make_unique<FsManager>(hierarchies_of(r), r.dirs);
    if (!r.unit.empty()) return open_systemd(std::move(fs), r.unit);
    return fs;
}

}  // namespace kiln::cgroups
