// linux.resources and org.systemd.property.* annotations as systemd unit
// properties, the way runc's systemd managers map them.
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "cgroups/devices_bpf.hpp"
#include "cgroups/fs.hpp"
#include "cgroups/systemd.hpp"
#include "kiln/error.hpp"

namespace kiln::cgroups {

Property prop(const std::string &name, const char *sig) {
    Property p;
    p.name = name;
    p.sig = sig;
    return p;
}
Property prop_t(const std::string &name, uint64_t v) {
    auto p = prop(name, "t");
    p.u = v;
    return p;
}
Property prop_b(const std::string &name, bool v) {
    auto p = prop(name, "b");
    p.b = v;
    return p;
}
Property prop_s(const std::string &name, const std::string &v) {
    auto p = prop(name, "s");
    p.s = v;
    return p;
}

namespace {
// systemd's DeviceAllow= wants paths or /proc/devices group names.
std::string device_group(char type, int64_t major) {
    std::ifstream in("/proc/devices");
    std::string line;
    bool section = false;
    while (std::getline(in, line)) {
        if (line == "Character devices:") section = type == 'c';
        else if (line == "Block devices:") section = type == 'b';
        else if (section) {
            std::istringstream f(line);
            int64_t n;
            std::string name;
            if (f >> n >> name && n == major) return std::string(type == 'c' ? "char-" : "block-") + name;
        }
    }
    return "";
}

void device_properties(const spec::Resources &r, std::vector<Property> &out) {
    auto set = simplify_device_rules(with_default_devices(r.devices));
    auto allow = prop("DeviceAllow", "a(ss)");
    if (set.default_allow) {
        // systemd has no deny lists: allow-all when that is what it is,
        // otherwise strict and empty, the eBPF program doing the rest (runc).
        if (set.exceptions.empty()) {
            out.push_back(prop_s("DevicePolicy", "auto"));
            out.push_back(allow);
            return;
        }
        out.push_back(prop_s("DevicePolicy", "strict"));
        out.push_back(allow);
        return;
    }
    out.push_back(prop_s("DevicePolicy", "strict"));
    for (auto &rule : set.exceptions) {
        char t = rule.type[0];
        std::string path;
        bool any_major = !rule.major || *rule.major < 0, any_minor = !rule.minor || *rule.minor < 0;
        if (any_major) {
            if (!any_minor) continue;  // "*:n" has no systemd form
            path = t == 'c' ? "char-*" : "block-*";
        } else if (any_minor) {
            path = device_group(t, *rule.major);
            if (path.empty()) continue;
        } else {
            path = std::string(t == 'c' ? "/dev/char/" : "/dev/block/") + std::to_string(*rule.major) + ":" +
                   std::to_string(*rule.minor);
            struct stat st;
            if (::stat(path.c_str(), &st) < 0 && ::stat(("/sys" + path).c_str(), &st) < 0) continue;
        }
        allow.pairs.emplace_back(path, rule.access);
    }
    out.push_back(allow);
}

void cpu_quota(const spec::Cpu &c, std::vector<Property> &out) {
    int64_t quota = c.quota.value_or(0);
    uint64_t period = c.period.value_or(0);
    if (period) out.push_back(prop_t("CPUQuotaPeriodUSec", period));
    if (quota > 0 || period > 0) {
        uint64_t per_sec = UINT64_MAX;  // infinity
        if (quota > 0) {
            if (!period) period = 100000;
            per_sec = uint64_t(quota) * 1000000 / period;
            // systemd rounds to 10ms; round up so the limit is not lowered.
            if (per_sec % 10000) per_sec = (per_sec / 10000 + 1) * 10000;
        }
        out.push_back(prop_t("CPUQuotaPerSecUSec", per_sec));
    }
}

}  // namespace

std::vector<uint8_t> cpuset_bits(const std::string &list, const char *field) {
    std::vector<uint8_t> out;
    for (auto &item : split_fields(list, ',')) {
        std::string r = item;
        r.erase(0, r.find_first_not_of(' '));
        r.erase(r.find_last_not_of(' ') + 1);
        if (r.empty()) continue;
        auto dash = r.find('-');
        char *end = nullptr;
        unsigned long lo = std::strtoul(r.c_str(), &end, 10), hi = lo;
        bool ok = end != r.c_str() && (dash == std::string::npos ? *end == 0 : end == r.c_str() + dash);
        if (ok && dash != std::string::npos) {
            const char *s = r.c_str() + dash + 1;
            hi = std::strtoul(s, &end, 10);
            ok = end != s && *end == 0 && hi >= lo;
        }
        if (!ok || hi > 65535) throw Error(std::string(field) + ": invalid list \"" + list + "\"");
        for (unsigned long i = lo; i <= hi; i++) {
            if (out.size() <= i / 8) out.resize(i / 8 + 1);
            out[i / 8] |= uint8_t(1u << (i % 8));
        }
    }
    if (out.empty()) throw Error(std::string(field) + ": empty value");
    return out;
}

std::vector<Property> resource_properties(const spec::Resources &r, bool v2, bool devices) {
    std::vector<Property> out;
    if (devices) device_properties(r, out);
    if (r.memory) {
        int64_t limit = r.memory->limit.value_or(0);
        if (limit) out.push_back(prop_t(v2 ? "MemoryMax" : "MemoryLimit", uint64_t(limit)));
        if (v2 && r.memory->reservation.value_or(0))
            out.push_back(prop_t("MemoryLow", uint64_t(*r.memory->reservation)));
        if (v2) {
            int64_t swap = swap_to_v2(r.memory->swap.value_or(0), limit);
            if (swap) out.push_back(prop_t("MemorySwapMax", uint64_t(swap)));
        }
    }
    if (r.cpu) {
        uint64_t shares = r.cpu->shares.value_or(0);
        if (shares) out.push_back(v2 ? prop_t("CPUWeight", shares_to_weight(shares)) : prop_t("CPUShares", shares));
        cpu_quota(*r.cpu, out);
        if (!r.cpu->cpus.empty()) {
            auto p = prop("AllowedCPUs", "ay");
            p.bytes = cpuset_bits(r.cpu->cpus, "linux.resources.cpu.cpus");
            out.push_back(p);
        }
        if (!r.cpu->mems.empty()) {
            auto p = prop("AllowedMemoryNodes", "ay");
            p.bytes = cpuset_bits(r.cpu->mems, "linux.resources.cpu.mems");
            out.push_back(p);
        }
    }
    if (!v2 && r.blockIO && r.blockIO->weight.value_or(0)) out.push_back(prop_t("BlockIOWeight", *r.blockIO->weight));
    if (r.pids && r.pids->limit && (*r.pids->limit > 0 || *r.pids->limit == -1))
        out.push_back(prop_t("TasksMax", uint64_t(*r.pids->limit)));
    return out;
}

namespace {

// A GVariant text value ("uint64 5", "@t 5", "true", "'x'", "5", "['a', 'b']").
Property parse_variant(const std::string &key, std::string name, const std::string &text) {
    auto bad = [&] { return Error("annotation " + key + "=" + text + " value parse error"); };
    std::string v = text;
    v.erase(0, v.find_first_not_of(' '));
    v.erase(v.find_last_not_of(' ') + 1);
    Property p;
    p.name = std::move(name);
    static const std::pair<const char *, const char *> kTypes[] = {
        {"byte ", "y"}, {"int16 ", "n"}, {"uint16 ", "q"}, {"int32 ", "i"}, {"uint32 ", "u"},
        {"int64 ", "x"}, {"uint64 ", "t"}, {"double ", "d"}};
    std::string sig;
    for (auto &[word, s] : kTypes)
        if (v.rfind(word, 0) == 0) {
            sig = s;
            v = v.substr(std::strlen(word));
        }
    if (sig.empty() && v.size() > 3 && v[0] == '@' && v[2] == ' ' && std::strchr("ynqiuxtdbs", v[1])) {
        sig = std::string(1, v[1]);
        v = v.substr(3);
    }
    if (v.empty()) throw bad();
    if ((sig.empty() || sig == "b") && (v == "true" || v == "false")) {
        p.sig = "b";
        p.b = v == "true";
        return p;
    }
    if ((sig.empty() || sig == "s") && v.size() >= 2 && (v[0] == '\'' || v[0] == '"') && v.back() == v[0]) {
        p.sig = "s";
        p.s = v.substr(1, v.size() - 2);
        return p;
    }
    if (sig.empty() && v.front() == '[' && v.back() == ']') {
        p.sig = "as";
        for (auto &item : split_fields(v.substr(1, v.size() - 2), ',')) {
            std::string x = item;
            x.erase(0, x.find_first_not_of(' '));
            x.erase(x.find_last_not_of(' ') + 1);
            if (x.size() < 2 || (x[0] != '\'' && x[0] != '"') || x.back() != x[0]) throw bad();
            p.strs.push_back(x.substr(1, x.size() - 2));
        }
        return p;
    }
    if (sig.empty()) sig = v.find('.') != std::string::npos ? "d" : "i";  // GVariant's default number types
    p.sig = sig;
    char *end = nullptr;
    errno = 0;
    if (sig == "d") p.d = std::strtod(v.c_str(), &end);
    else if (sig == "t" || sig == "u" || sig == "q" || sig == "y") {
        if (v[0] == '-') throw bad();
        p.u = std::strtoull(v.c_str(), &end, 10);
    } else p.i = std::strtoll(v.c_str(), &end, 10);
    if (!end || *end || errno) throw bad();
    return p;
}

}  // namespace

std::vector<Property> annotation_properties(const std::map<std::string, std::string> &annotations) {
    const std::string prefix = "org.systemd.property.";
    std::vector<Property> out;
    for (auto &[k, v] : annotations) {
        if (k.rfind(prefix, 0) != 0) continue;
        std::string name = k.substr(prefix.size());
        if (name.size() < 3) throw Error("annotation " + k + " name incorrect: too short");
        for (char c : name)
            if (!std::isalpha(static_cast<unsigned char>(c)))
                throw Error("annotation " + k + " name incorrect: contains non-alphabetic character");
        Property p = parse_variant(k, name, v);
        // TimeoutStopSec=5 means TimeoutStopUSec=5000000 (runc).
        if (name.ends_with("Sec") && name.size() > 3 && std::islower(static_cast<unsigned char>(name[name.size() - 4]))) {
            uint64_t sec;
            if (p.sig == "d") sec = uint64_t(p.d * 1000000);
            else if (std::strchr("ynqut", p.sig[0]) && p.sig.size() == 1) sec = p.u * 1000000;
            else if (std::strchr("ix", p.sig[0]) && p.sig.size() == 1) sec = uint64_t(p.i) * 1000000;
            else throw Error("annotation " + k + "=" + v + " value parse error: not a number");
            p = prop_t(name.substr(0, name.size() - 3) + "USec", sec);
        }
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace kiln::cgroups
