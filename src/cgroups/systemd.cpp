// The systemd driver: StartTransientUnit for the container's scope with the
// first pid (runc's properties: Delegate, accounting, DefaultDependencies=no,
// resources, org.systemd.property.* annotations), waits for the job, then
// lets the cgroupfs driver write the files as runc does. Update is
// SetUnitProperties plus the files; delete is StopUnit.
#include "cgroups/systemd.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "cgroups/devices_bpf.hpp"
#include "cgroups/fs.hpp"
#include "kiln/error.hpp"

namespace kiln::cgroups {
namespace {

const char kPathField[] = "linux.cgroupsPath";

std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, sep)) out.push_back(cur);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

bool ends_with(const std::string &s, const std::string &suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

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

std::string expand_slice(const std::string &slice) {
    const std::string suffix = ".slice";
    auto bad = [&] { return Error(std::string(kPathField) + ": invalid slice name: " + slice); };
    if (slice.size() <= suffix.size() || !ends_with(slice, suffix) || slice.find('/') != std::string::npos) throw bad();
    std::string name = slice.substr(0, slice.size() - suffix.size());
    if (name == "-") return "/";
    std::string path, prefix;
    for (auto &part : split(name, '-')) {
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
        auto parts = split(cgroups_path, ':');
        if (parts.size() != 3)
            throw Error(std::string(kPathField) + ": expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"" +
                        cgroups_path + "\" instead");
        if (!parts[0].empty()) u.slice = parts[0];
        prefix = parts[1];
        name = parts[2];
        if (name.empty()) throw Error(std::string(kPathField) + ": the name part of \"" + cgroups_path + "\" is empty");
    }
    u.name = ends_with(name, ".slice") ? name : prefix + "-" + name + ".scope";
    if (u.name.find('/') != std::string::npos) throw Error(std::string(kPathField) + ": invalid unit name " + u.name);
    std::string parent = expand_slice(u.slice);
    u.path = (parent == "/" ? "" : parent) + "/" + u.name;
    if (ends_with(name, ".slice")) u.path = expand_slice(name);
    return u;
}

std::vector<uint8_t> cpuset_bits(const std::string &list, const char *field) {
    std::vector<uint8_t> out;
    for (auto &item : split(list, ',')) {
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
        for (auto &item : split(v.substr(1, v.size() - 2), ',')) {
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
        if (ends_with(name, "Sec") && name.size() > 3 && std::islower(static_cast<unsigned char>(name[name.size() - 4]))) {
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

namespace {

// The few sd-bus functions the driver needs, resolved from libsystemd.so.0
// on first use so that kiln does not load it otherwise.
struct SdBus {
#define KILN_SD(fn) decltype(&::fn) fn = nullptr;
    KILN_SD(sd_bus_open_system)
    KILN_SD(sd_bus_flush_close_unref)
    KILN_SD(sd_bus_message_new_method_call)
    KILN_SD(sd_bus_message_unref)
    KILN_SD(sd_bus_message_append)
    KILN_SD(sd_bus_message_append_basic)
    KILN_SD(sd_bus_message_append_array)
    KILN_SD(sd_bus_message_open_container)
    KILN_SD(sd_bus_message_close_container)
    KILN_SD(sd_bus_message_read)
    KILN_SD(sd_bus_call)
    KILN_SD(sd_bus_call_method)
    KILN_SD(sd_bus_match_signal)
    KILN_SD(sd_bus_slot_unref)
    KILN_SD(sd_bus_process)
    KILN_SD(sd_bus_wait)
    KILN_SD(sd_bus_error_free)
    KILN_SD(sd_bus_error_has_name)
#undef KILN_SD
};

const SdBus &sdbus() {
    static SdBus s;
    static bool loaded = false;
    if (loaded) return s;
    void *lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        throw Error(std::string("--systemd-cgroup needs libsystemd (libsystemd.so.0): ") + ::dlerror());
    auto sym = [&](auto &fn, const char *name) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
        if (!fn) throw Error(std::string("--systemd-cgroup: libsystemd.so.0 lacks ") + name);
    };
#define KILN_SYM(fn) sym(s.fn, #fn);
    KILN_SYM(sd_bus_open_system)
    KILN_SYM(sd_bus_flush_close_unref)
    KILN_SYM(sd_bus_message_new_method_call)
    KILN_SYM(sd_bus_message_unref)
    KILN_SYM(sd_bus_message_append)
    KILN_SYM(sd_bus_message_append_basic)
    KILN_SYM(sd_bus_message_append_array)
    KILN_SYM(sd_bus_message_open_container)
    KILN_SYM(sd_bus_message_close_container)
    KILN_SYM(sd_bus_message_read)
    KILN_SYM(sd_bus_call)
    KILN_SYM(sd_bus_call_method)
    KILN_SYM(sd_bus_match_signal)
    KILN_SYM(sd_bus_slot_unref)
    KILN_SYM(sd_bus_process)
    KILN_SYM(sd_bus_wait)
    KILN_SYM(sd_bus_error_free)
    KILN_SYM(sd_bus_error_has_name)
#undef KILN_SYM
    loaded = true;
    return s;
}

const char kDest[] = "org.freedesktop.systemd1";
const char kPath[] = "/org/freedesktop/systemd1";
const char kIface[] = "org.freedesktop.systemd1.Manager";

void check(int r, const char *what) {
    if (r < 0) throw_errno(std::string("systemd: ") + what, -r);
}

// One connection to the system bus with JobRemoved signals collected.
class Bus {
public:
    Bus() : sd_(sdbus()) {
        check(sd_.sd_bus_open_system(&bus_), "connect to the system bus");
        check(sd_.sd_bus_match_signal(bus_, &slot_, kDest, kPath, kIface, "JobRemoved", on_job_removed, this),
              "subscribe to JobRemoved");
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = nullptr;
        // systemd only emits job signals while someone has subscribed.
        sd_.sd_bus_call_method(bus_, kDest, kPath, kIface, "Subscribe", &err, &reply, "");
        sd_.sd_bus_error_free(&err);
        sd_.sd_bus_message_unref(reply);
    }
    ~Bus() {
        sd_.sd_bus_slot_unref(slot_);
        sd_.sd_bus_flush_close_unref(bus_);
    }
    Bus(const Bus &) = delete;
    Bus &operator=(const Bus &) = delete;

    // Calls method(name, "replace", [props]...) and waits for its job; returns
    // the job's result ("done", "failed" ...) or "exists" for UnitExists.
    std::string job_call(const char *method, const std::string &unit, const std::vector<Property> *props) {
        sd_bus_message *m = nullptr;
        check(sd_.sd_bus_message_new_method_call(bus_, &m, kDest, kPath, kIface, method), "new method call");
        Msg hold{sd_, m};
        check(sd_.sd_bus_message_append(m, "ss", unit.c_str(), "replace"), "append");
        if (props) {
            append_properties(m, *props);
            check(sd_.sd_bus_message_append(m, "a(sa(sv))", 0), "append aux");
        }
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = nullptr;
        int r = sd_.sd_bus_call(bus_, m, 30'000'000, &err, &reply);
        Msg hold_reply{sd_, reply};
        if (r < 0) {
            std::string name = err.name ? err.name : "", msg = err.message ? err.message : std::strerror(-r);
            bool exists = sd_.sd_bus_error_has_name(&err, "org.freedesktop.systemd1.UnitExists");
            bool missing = sd_.sd_bus_error_has_name(&err, "org.freedesktop.systemd1.NoSuchUnit");
            sd_.sd_bus_error_free(&err);
            if (exists) return "exists";
            if (missing) return "missing";
            throw Error(std::string("systemd ") + method + " " + unit + ": " + msg);
        }
        const char *job = nullptr;
        check(sd_.sd_bus_message_read(reply, "o", &job), "read job");
        return wait_job(job);
    }

    void set_properties(const std::string &unit, const std::vector<Property> &props) {
        sd_bus_message *m = nullptr;
        check(sd_.sd_bus_message_new_method_call(bus_, &m, kDest, kPath, kIface, "SetUnitProperties"), "new method call");
        Msg hold{sd_, m};
        check(sd_.sd_bus_message_append(m, "sb", unit.c_str(), 1), "append");
        append_properties(m, props);
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = nullptr;
        int r = sd_.sd_bus_call(bus_, m, 30'000'000, &err, &reply);
        Msg hold_reply{sd_, reply};
        if (r < 0) {
            std::string msg = err.message ? err.message : std::strerror(-r);
            sd_.sd_bus_error_free(&err);
            throw Error("systemd SetUnitProperties " + unit + ": " + msg);
        }
    }

    void reset_failed(const std::string &unit) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = nullptr;
        sd_.sd_bus_call_method(bus_, kDest, kPath, kIface, "ResetFailedUnit", &err, &reply, "s", unit.c_str());
        sd_.sd_bus_error_free(&err);
        sd_.sd_bus_message_unref(reply);
    }

private:
    struct Msg {
        const SdBus &sd;
        sd_bus_message *m;
        ~Msg() {
            if (m) sd.sd_bus_message_unref(m);
        }
    };

    static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *) {
        auto *self = static_cast<Bus *>(userdata);
        uint32_t id;
        const char *job = nullptr, *unit = nullptr, *result = nullptr;
        if (self->sd_.sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0 && job && result)
            self->removed_.emplace_back(job, result);
        return 0;
    }

    std::string wait_job(const std::string &job) {
        struct timespec start;
        ::clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            for (auto &[j, result] : removed_)
                if (j == job) return result;
            int r = sd_.sd_bus_process(bus_, nullptr);
            check(r, "process bus");
            if (r > 0) continue;
            struct timespec now;
            ::clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - start.tv_sec >= 30) throw Error("timed out waiting for systemd job " + job);
            check(sd_.sd_bus_wait(bus_, 1'000'000), "wait on bus");
        }
    }

    void append_property(sd_bus_message *m, const Property &p) {
        check(sd_.sd_bus_message_open_container(m, 'r', "sv"), "open property");
        check(sd_.sd_bus_message_append_basic(m, 's', p.name.c_str()), "append name");
        check(sd_.sd_bus_message_open_container(m, 'v', p.sig.c_str()), "open variant");
        char t = p.sig[0];
        if (p.sig == "as") {
            check(sd_.sd_bus_message_open_container(m, 'a', "s"), "open array");
            for (auto &s : p.strs) check(sd_.sd_bus_message_append_basic(m, 's', s.c_str()), "append");
            check(sd_.sd_bus_message_close_container(m), "close array");
        } else if (p.sig == "au") {
            check(sd_.sd_bus_message_open_container(m, 'a', "u"), "open array");
            for (auto v : p.u32s) check(sd_.sd_bus_message_append_basic(m, 'u', &v), "append");
            check(sd_.sd_bus_message_close_container(m), "close array");
        } else if (p.sig == "ay") {
            check(sd_.sd_bus_message_append_array(m, 'y', p.bytes.data(), p.bytes.size()), "append bytes");
        } else if (p.sig == "a(ss)") {
            check(sd_.sd_bus_message_open_container(m, 'a', "(ss)"), "open array");
            for (auto &[a, b] : p.pairs) check(sd_.sd_bus_message_append(m, "(ss)", a.c_str(), b.c_str()), "append");
            check(sd_.sd_bus_message_close_container(m), "close array");
        } else if (t == 's') {
            check(sd_.sd_bus_message_append_basic(m, 's', p.s.c_str()), "append");
        } else if (t == 'b') {
            int v = p.b;
            check(sd_.sd_bus_message_append_basic(m, 'b', &v), "append");
        } else if (t == 'd') {
            check(sd_.sd_bus_message_append_basic(m, 'd', &p.d), "append");
        } else if (t == 't' || t == 'u' || t == 'q' || t == 'y') {
            uint64_t v64 = p.u;
            uint32_t v32 = uint32_t(p.u);
            uint16_t v16 = uint16_t(p.u);
            uint8_t v8 = uint8_t(p.u);
            const void *v = t == 't' ? (const void *)&v64 : t == 'u' ? (const void *)&v32 : t == 'q' ? (const void *)&v16 : &v8;
            check(sd_.sd_bus_message_append_basic(m, t, v), "append");
        } else if (t == 'x' || t == 'i' || t == 'n') {
            int64_t v64 = p.i;
            int32_t v32 = int32_t(p.i);
            int16_t v16 = int16_t(p.i);
            const void *v = t == 'x' ? (const void *)&v64 : t == 'i' ? (const void *)&v32 : &v16;
            check(sd_.sd_bus_message_append_basic(m, t, v), "append");
        } else {
            throw Error("systemd property " + p.name + ": unsupported type " + p.sig);
        }
        check(sd_.sd_bus_message_close_container(m), "close variant");
        check(sd_.sd_bus_message_close_container(m), "close property");
    }

    void append_properties(sd_bus_message *m, const std::vector<Property> &props) {
        check(sd_.sd_bus_message_open_container(m, 'a', "(sv)"), "open properties");
        for (auto &p : props) append_property(m, p);
        check(sd_.sd_bus_message_close_container(m), "close properties");
    }

    const SdBus &sd_;
    sd_bus *bus_ = nullptr;
    sd_bus_slot *slot_ = nullptr;
    std::vector<std::pair<std::string, std::string>> removed_;
};

class SystemdManager : public Manager {
public:
    SystemdManager(std::unique_ptr<FsManager> fs, std::string unit, std::string slice = "", bool v2 = true,
                   std::vector<Property> extra = {})
        : fs_(std::move(fs)), unit_(std::move(unit)), slice_(std::move(slice)), v2_(v2), extra_(std::move(extra)) {}

    void create(const spec::Resources *res) override {
        if (res) res_ = *res;
        // Bad values fail here, before anything exists.
        props_ = resource_properties(res_ ? *res_ : spec::Resources{}, v2_, true);
        sdbus();
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
    std::string unit() const override { return unit_; }
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
        if (ends_with(unit_, ".slice")) {
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
