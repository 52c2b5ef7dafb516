// cgroup v2 device control: linux.resources.devices as an eBPF
// BPF_PROG_TYPE_CGROUP_DEVICE program, built like runc's devicefilter
// (rules simplified first as the v1 kernel would) and attached to the
// cgroup with BPF_F_ALLOW_MULTI, replacing the one there before.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "kiln/spec.hpp"

namespace kiln::cgroups {

// The r, w and m letters of a rule's access, in that order ("" means "rwm").
// Other letters are ignored, as runc's device emulator does ("rwa" -> "rw").
std::string device_access(const std::string &access);

// The config's rules followed by runc's default allow list.
std::vector<spec::DeviceRule> with_default_devices(const std::vector<spec::DeviceRule> &rules);

// What the v1 devices controller would end up with: a default and the
// exceptions to it, sorted by major, minor, type (runc's emulator).
struct DeviceRuleset {
    bool default_allow = false;
    std::vector<spec::DeviceRule> exceptions;  // allow != default_allow, type c or b, access non-empty
};
DeviceRuleset simplify_device_rules(const std::vector<spec::DeviceRule> &rules);

std::vector<struct bpf_insn> device_filter(const DeviceRuleset &set);

// Loads prog and attaches it to the cgroup directory dir, detaching the
// device programs that were attached before.
void attach_device_filter(const std::string &dir, const std::vector<struct bpf_insn> &prog);

}  // namespace kiln::cgroups
