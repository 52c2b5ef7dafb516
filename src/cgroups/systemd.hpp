// The systemd driver (--systemd-cgroup): the container's cgroup is a
// transient scope (or slice) that systemd makes over D-Bus, as runc does.
// libsystemd is loaded with dlopen only when this driver is used.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cgroups/cgroup.hpp"

namespace kiln::cgroups {

class FsManager;

// linux.cgroupsPath "slice:prefix:name" ("" = system.slice, kiln-<id>.scope).
struct SystemdUnit {
    std::string slice;  // parent slice unit, "system.slice"
    std::string name;   // "prefix-name.scope", or "name.slice" when asked for a slice
    std::string path;   // cgroup path relative to a hierarchy root: /system.slice/kiln-x.scope
};
SystemdUnit parse_systemd_path(const std::string &cgroups_path, const std::string &id);
// "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice" (systemd's nesting); throws on a bad name.
std::string expand_slice(const std::string &slice);

// One D-Bus property (name, signature, value) of a unit.
struct Property {
    std::string name;
    std::string sig;  // s b y n q i u x t d as au ay a(ss)
    std::string s;
    bool b = false;
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;
    std::vector<std::string> strs;
    std::vector<uint32_t> u32s;
    std::vector<uint8_t> bytes;
    std::vector<std::pair<std::string, std::string>> pairs;
};

// linux.resources as unit properties, the way runc's systemd managers map
// them (v2: MemoryMax, CPUWeight, CPUQuotaPerSecUSec, TasksMax, AllowedCPUs...;
// v1: MemoryLimit, CPUShares, BlockIOWeight...). devices: DevicePolicy/DeviceAllow.
std::vector<Property> resource_properties(const spec::Resources &r, bool v2, bool devices);
// org.systemd.property.NAME annotations; values in GVariant text form
// ("uint64 10", "true", "'str'", "5"); *Sec names become *USec.
std::vector<Property> annotation_properties(const std::map<std::string, std::string> &annotations);
// "0-2,7" -> the little-endian bitmask systemd's AllowedCPUs takes.
std::vector<uint8_t> cpuset_bits(const std::string &list, const char *field);

// Property constructors (signature t, b, s; or any, filled in by the caller).
Property prop(const std::string &name, const char *sig);
Property prop_t(const std::string &name, uint64_t v);
Property prop_b(const std::string &name, bool v);
Property prop_s(const std::string &name, const std::string &v);

// s split at each sep ("a::b" -> a, "", b; a trailing sep gives a last "").
std::vector<std::string> split_fields(const std::string &s, char sep);

std::unique_ptr<Manager> make_systemd(const std::vector<Hierarchy> &hs, const Options &o);
std::unique_ptr<Manager> open_systemd(std::unique_ptr<FsManager> fs, const std::string &unit);

}  // namespace kiln::cgroups
