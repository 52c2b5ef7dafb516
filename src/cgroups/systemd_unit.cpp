// systemd unit names: linux.cgroupsPath "slice:prefix:name" to the unit,
// its parent slice and its cgroup path (systemd's slice nesting).
#include <sstream>

#include "cgroups/systemd.hpp"
#include "kiln/error.hpp"

namespace kiln::cgroups {
namespace {

const char kPathField[] = "linux.cgroupsPath";

}  // namespace

std::vector<std::string> split_fields(const std::string &s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, sep)) out.push_back(cur);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

std::string expand_slice(const std::string &slice) {
    const std::string suffix = ".slice";
    auto bad = [&] { return Error(std::string(kPathField) + ": invalid slice name: " + slice); };
    if (slice.size() <= suffix.size() || !slice.ends_with(suffix) || slice.find('/') != std::string::npos) throw bad();
    std::string name = slice.substr(0, slice.size() - suffix.size());
    if (name == "-") return "/";
    std::string path, prefix;
    for (auto &part : split_fields(name, '-')) {
        if (part.empty()) throw bad();
        path += "/" + prefix + part + suffix;
        prefix += part + "-";
    }
    return path;
}

SystemdUnit parse_systemd_path(const std::string &cgroups_path, const std::string &id) {
    SystemdUnit u;
    std::string prefix = "kiln", name = id;
    u.slice = "system.slice";
    if (!cgroups_path.empty()) {
        auto parts = split_fields(cgroups_path, ':');
        if (parts.size() != 3)
            throw Error(std::string(kPathField) + ": expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"" +
                        cgroups_path + "\" instead");
        if (!parts[0].empty()) u.slice = parts[0];
        prefix = parts[1];
        name = parts[2];
        if (name.empty()) throw Error(std::string(kPathField) + ": the name part of \"" + cgroups_path + "\" is empty");
    }
    u.name = name.ends_with(".slice") ? name : prefix + "-" + name + ".scope";
    if (u.name.find('/') != std::string::npos) throw Error(std::string(kPathField) + ": invalid unit name " + u.name);
    std::string parent = expand_slice(u.slice);
    u.path = (parent == "/" ? "" : parent) + "/" + u.name;
    if (name.ends_with(".slice")) u.path = expand_slice(name);
    return u;
}

}  // namespace kiln::cgroups
