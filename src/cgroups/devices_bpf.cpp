// The cgroup v2 device filter: runc's emulator (rules simplified the way the
// v1 devices controller would keep them) and devicefilter program shape, loaded
// with the bpf() syscall and attached with BPF_F_ALLOW_MULTI.
#include "cgroups/devices_bpf.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

#include "kiln/error.hpp"
#include "util/fd.hpp"

namespace kiln::cgroups {
namespace {

spec::DeviceRule rule(const char *type, int64_t major, int64_t minor, const char *access) {
    spec::DeviceRule r;
    r.allow = true;
    r.type = type;
    r.major = major;
    r.minor = minor;
    r.access = access;
    return r;
}

// access letters as a bit set (r=1, w=2, m=4 here, only for set algebra).
unsigned perms(const std::string &a) {
    unsigned p = 0;
    for (char c : a) p |= c == 'r' ? 1 : c == 'w' ? 2 : c == 'm' ? 4 : 0;
    return p;
}
std::string letters(unsigned p) {
    std::string s;
    if (p & 1) s += 'r';
    if (p & 2) s += 'w';
    if (p & 4) s += 'm';
    return s;
}

using Meta = std::tuple<int64_t, int64_t, char>;  // major, minor, type: runc's sort order

long bpf(int cmd, union bpf_attr *attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    struct bpf_insn i;
    std::memset(&i, 0, sizeof i);
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

}  // namespace

std::string device_access(const std::string &access) { return letters(perms(access.empty() ? "rwm" : access)); }

std::vector<spec::DeviceRule> with_default_devices(const std::vector<spec::DeviceRule> &rules) {
    std::vector<spec::DeviceRule> out = rules;
    // runc's AllowedDevices: mknod of anything, then null zero full tty
    // random urandom, ptys, ptmx.
    for (auto &r : {rule("c", -1, -1, "m"), rule("b", -1, -1, "m"), rule("c", 1, 3, "rwm"), rule("c", 1, 8, "rwm"),
                    rule("c", 1, 7, "rwm"), rule("c", 5, 0, "rwm"), rule("c", 1, 5, "rwm"), rule("c", 1, 9, "rwm"),
                    rule("c", 136, -1, "rwm"), rule("c", 5, 2, "rwm")})
        out.push_back(r);
    return out;
}

DeviceRuleset simplify_device_rules(const std::vector<spec::DeviceRule> &rules) {
    bool default_allow = false;
    std::map<Meta, unsigned> ex;
    for (auto &r : rules) {
        std::string type = r.type.empty() ? "a" : r.type;
        if (type == "a") {  // a wildcard resets everything
            default_allow = r.allow;
            ex.clear();
            continue;
        }
        Meta m{r.major && *r.major >= 0 ? *r.major : -1, r.minor && *r.minor >= 0 ? *r.minor : -1, type[0]};
        unsigned p = perms(r.access.empty() ? "rwm" : r.access);
        if (!p) continue;  // no letter runc knows: the rule changes nothing
        if (r.allow != default_allow) {
            ex[m] |= p;  // an exception to the default
            continue;
        }
        // Same as the default: narrows an exception. v1 cannot punch a hole in
        // a wildcard exception.
        auto [ma, mi, t] = m;
        for (Meta wide : {Meta{-1, mi, t}, Meta{ma, -1, t}, Meta{-1, -1, t}}) {
            if (wide == m) continue;
            auto it = ex.find(wide);
            if (it != ex.end() && (it->second & p))
                throw Error("linux.resources.devices: rule " + type + " " + (ma < 0 ? "*" : std::to_string(ma)) + ":" +
                            (mi < 0 ? "*" : std::to_string(mi)) + " " + letters(p) +
                            " cannot punch a hole in an existing wildcard rule");
        }
        auto it = ex.find(m);
        if (it != ex.end() && !(it->second &= ~p)) ex.erase(it);
    }
    DeviceRuleset set;
    set.default_allow = default_allow;
    for (auto &[m, p] : ex) {
        auto [ma, mi, t] = m;
        spec::DeviceRule r;
        r.allow = !default_allow;
        r.type = std::string(1, t);
        r.major = ma;
        r.minor = mi;
        r.access = letters(p);
        set.exceptions.push_back(r);
    }
    return set;
}

std::vector<struct bpf_insn> device_filter(const DeviceRuleset &set) {
    std::vector<struct bpf_insn> p;
    // struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
    // access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*
    p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0));
    p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF));  // type
    p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0));
    p.push_back(insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));  // access
    p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0));  // major
    p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0));  // minor
    // One block per exception: each mismatch jumps to the next block; a
    // match returns the exception's verdict.
    for (auto &r : set.exceptions) {
        std::vector<struct bpf_insn> b;
        std::vector<size_t> jumps;  // indexes of jumps to patch to the next block
        int32_t type = r.type == "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
        int32_t access = 0;
        for (char c : r.access)
            access |= c == 'r' ? BPF_DEVCG_ACC_READ : c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
        jumps.push_back(b.size());
        b.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, type));
        if (access != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
            // Every requested access must be in the rule's set.
            b.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
            b.push_back(insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, access));
            jumps.push_back(b.size());
            b.push_back(insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
        }
        if (r.major && *r.major >= 0) {
            jumps.push_back(b.size());
            b.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, int32_t(*r.major)));
        }
        if (r.minor && *r.minor >= 0) {
            jumps.push_back(b.size());
            b.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, int32_t(*r.minor)));
        }
        b.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r.allow ? 1 : 0));
        b.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        for (size_t j : jumps) b[j].off = int16_t(b.size() - j - 1);
        p.insert(p.end(), b.begin(), b.end());
    }
    p.push_back(insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, set.default_allow ? 1 : 0));
    p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    return p;
}

void attach_device_filter(const std::string &dir, const std::vector<struct bpf_insn> &prog) {
    UniqueFd cg(::open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!cg) throw_errno("open " + dir);

    // The programs attached before (an update, or a cgroup that existed).
    std::vector<UniqueFd> old;
    uint32_t ids[64] = {};
    union bpf_attr q;
    std::memset(&q, 0, sizeof q);
    q.query.target_fd = static_cast<uint32_t>(cg.get());
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = reinterpret_cast<uintptr_t>(ids);
    q.query.prog_cnt = 64;
    if (bpf(BPF_PROG_QUERY, &q) == 0) {
        for (uint32_t i = 0; i < q.query.prog_cnt && i < 64; i++) {
            union bpf_attr g;
            std::memset(&g, 0, sizeof g);
            g.prog_id = ids[i];
            int fd = static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, &g));
            if (fd >= 0) old.emplace_back(fd);
        }
    }

    static const char license[] = "Apache";
    char log[4096] = {};
    union bpf_attr load;
    std::memset(&load, 0, sizeof load);
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = reinterpret_cast<uintptr_t>(prog.data());
    load.insn_cnt = static_cast<uint32_t>(prog.size());
    load.license = reinterpret_cast<uintptr_t>(license);
    UniqueFd pfd(static_cast<int>(bpf(BPF_PROG_LOAD, &load)));
    if (!pfd) {
        // Again with the verifier's log, for the error message.
        load.log_buf = reinterpret_cast<uintptr_t>(log);
        load.log_size = sizeof log - 1;
        load.log_level = 1;
        int err = errno;
        bpf(BPF_PROG_LOAD, &load);
        throw_errno(std::string("load the device filter (BPF_PROG_LOAD)") + (log[0] ? std::string(": ") + log : ""), err);
    }

    union bpf_attr at;
    std::memset(&at, 0, sizeof at);
    at.target_fd = static_cast<uint32_t>(cg.get());
    at.attach_bpf_fd = static_cast<uint32_t>(pfd.get());
    at.attach_type = BPF_CGROUP_DEVICE;
    at.attach_flags = BPF_F_ALLOW_MULTI;
    // With exactly one old program, swap it atomically (5.6+); else attach
    // and then detach the old ones.
    bool replaced = false;
    if (old.size() == 1) {
        at.attach_flags |= BPF_F_REPLACE;
        at.replace_bpf_fd = static_cast<uint32_t>(old[0].get());
        replaced = bpf(BPF_PROG_ATTACH, &at) == 0;
        at.attach_flags = BPF_F_ALLOW_MULTI;
        at.replace_bpf_fd = 0;
    }
    if (!replaced) {
        if (bpf(BPF_PROG_ATTACH, &at) < 0) throw_errno("attach the device filter (BPF_PROG_ATTACH, BPF_F_ALLOW_MULTI) to " + dir);
        for (auto &o : old) {
            union bpf_attr d;
            std::memset(&d, 0, sizeof d);
            d.target_fd = static_cast<uint32_t>(cg.get());
            d.attach_bpf_fd = static_cast<uint32_t>(o.get());
            d.attach_type = BPF_CGROUP_DEVICE;
            if (bpf(BPF_PROG_DETACH, &d) < 0) throw_errno("detach the old device filter from " + dir);
        }
    }
}

}  // namespace kiln::cgroups
