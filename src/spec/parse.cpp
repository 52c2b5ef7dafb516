// config.json -> kiln::spec::Spec. The only reader of the runtime-spec JSON.
//
// Conventions (they follow what Go's encoding/json does for runc, so configs
// that work there work here): unknown members are ignored, a member whose value
// is null counts as absent, the last of duplicate members wins, and integers
// must be written as integers that fit the field.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <string>
#include <type_traits>

#include "kiln/error.hpp"
#include "kiln/spec.hpp"
#include "names.hpp"
#include "tables.hpp"
#include "tree.hpp"

namespace kiln::spec {
namespace {

// Where a value sits in the document. Paths live on the stack and are only
// rendered when an error is thrown, so walking 100k array elements costs nothing.
struct Path {
    const Path *up = nullptr;
    std::string_view key;   // member name, or the file name on the root
    size_t index = 0;       // array position when is_element
    bool is_element = false;
};

Path member(const Path &p, std::string_view k) { return {&p, k, 0, false}; }
Path element(const Path &p, size_t i) { return {&p, {}, i, true}; }

void render(const Path &p, std::string &out) {
    if (!p.up) return;
    render(*p.up, out);
    if (p.is_element) {
        out += '[' + std::to_string(p.index) + ']';
        return;
    }
    if (!out.empty()) out += '.';
    out += p.key;
}

[[noreturn]] void fail(const Path &p, const std::string &problem) {
    const Path *root = &p;
    while (root->up) root = root->up;
    std::string where;
    render(p, where);
    std::string msg(root->key);
    msg += ": ";
    if (!where.empty()) msg += where + ": ";
    throw Error(msg + problem);
}

const char *type_name(yajl_val v) {
    switch (v->type) {
    case yajl_t_string: return "string";
    case yajl_t_number: return "number";
    case yajl_t_object: return "object";
    case yajl_t_array: return "array";
    case yajl_t_true:
    case yajl_t_false: return "boolean";
    default: return "null";
    }
}

[[noreturn]] void wrong_type(yajl_val v, const Path &p, const char *want) {
    fail(p, std::string("expected ") + want + ", got " + type_name(v));
}

// ---- scalars ---------------------------------------------------------------

std::string str(yajl_val v, const Path &p) {
    if (YAJL_IS_NULL(v)) return {};
    if (!YAJL_IS_STRING(v)) wrong_type(v, p, "string");
    return YAJL_GET_STRING(v);
}

bool boolean(yajl_val v, const Path &p) {
    if (YAJL_IS_NULL(v)) return false;
    if (YAJL_IS_TRUE(v)) return true;
    if (!YAJL_IS_FALSE(v)) wrong_type(v, p, "boolean");
    return false;
}

template <class T>
constexpr const char *int_name() {
    if constexpr (std::is_same_v<T, uint16_t>) return "uint16";
    if constexpr (std::is_same_v<T, uint32_t>) return "uint32";
    if constexpr (std::is_same_v<T, uint64_t>) return "uint64";
    if constexpr (std::is_same_v<T, int32_t>) return "int32";
    if constexpr (std::is_same_v<T, int64_t>) return "int64";
}

// Integers are read from yajl's original digits rather than its long long, so
// uint64 values above INT64_MAX are exact and ranges are checked per field.
template <class T>
T integer(yajl_val v, const Path &p) {
    if (YAJL_IS_NULL(v)) return T{};
    if (!YAJL_IS_NUMBER(v)) wrong_type(v, p, "integer");
    const char *digits = YAJL_GET_NUMBER(v);
    const char *end = digits + std::strlen(digits);
    T out{};
    auto [stop, ec] = std::from_chars(digits, end, out);
    if (ec == std::errc() && stop == end) return out;
    if (std::strpbrk(digits, ".eE")) fail(p, std::string("expected integer, got ") + digits);
    fail(p, std::string("value ") + digits + " out of range for " + int_name<T>());
}

// ---- containers --------------------------------------------------------------

template <class F>
void members(yajl_val v, const Path &p, F &&each) {
    if (YAJL_IS_NULL(v)) return;
    if (!YAJL_IS_OBJECT(v)) wrong_type(v, p, "object");
    const auto &obj = v->u.object;
    for (size_t i = 0; i < obj.len; ++i) {
        if (YAJL_IS_NULL(obj.values[i])) continue;
        Path mp = member(p, obj.keys[i]);
        each(std::string_view(obj.keys[i]), obj.values[i], mp);
    }
}

template <class F>
void elements(yajl_val v, const Path &p, F &&each) {
    if (YAJL_IS_NULL(v)) return;
    if (!YAJL_IS_ARRAY(v)) wrong_type(v, p, "array");
    const auto &arr = v->u.array;
    for (size_t i = 0; i < arr.len; ++i) each(arr.values[i], element(p, i));
}

// A JSON array parsed element by element with one(yajl_val, Path) -> T.
template <class F>
auto list(yajl_val v, const Path &p, F &&one) {
    std::vector<decltype(one(v, p))> out;
    if (YAJL_IS_ARRAY(v)) out.reserve(v->u.array.len);
    elements(v, p, [&](yajl_val x, const Path &xp) { out.push_back(one(x, xp)); });
    return out;
}

std::vector<std::string> strings(yajl_val v, const Path &p) { return list(v, p, str); }

template <class T>
std::vector<T> integers(yajl_val v, const Path &p) {
    return list(v, p, integer<T>);
}

// A JSON object whose members all parse with one(yajl_val, Path) -> T.
template <class F>
auto map_of(yajl_val v, const Path &p, F &&one) {
    std::map<std::string, decltype(one(v, p))> out;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) { out[std::string(k)] = one(x, xp); });
    return out;
}

std::map<std::string, std::string> string_map(yajl_val v, const Path &p) { return map_of(v, p, str); }

// ---- process -------------------------------------------------------------------

IdMapping id_mapping(yajl_val v, const Path &p) {
    IdMapping m;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "containerID") m.containerID = integer<uint32_t>(x, xp);
        else if (k == "hostID") m.hostID = integer<uint32_t>(x, xp);
        else if (k == "size") m.size = integer<uint32_t>(x, xp);
    });
    return m;
}

std::vector<IdMapping> id_mappings(yajl_val v, const Path &p) { return list(v, p, id_mapping); }

User user(yajl_val v, const Path &p) {
    User u;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "uid") u.uid = integer<uint32_t>(x, xp);
        else if (k == "gid") u.gid = integer<uint32_t>(x, xp);
        else if (k == "umask") u.umask = integer<uint32_t>(x, xp);
        else if (k == "additionalGids") u.additionalGids = integers<uint32_t>(x, xp);
        else if (k == "username") u.username = str(x, xp);
    });
    return u;
}

Capabilities capabilities(yajl_val v, const Path &p) {
    Capabilities c;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "bounding") c.bounding = strings(x, xp);
        else if (k == "effective") c.effective = strings(x, xp);
        else if (k == "inheritable") c.inheritable = strings(x, xp);
        else if (k == "permitted") c.permitted = strings(x, xp);
        else if (k == "ambient") c.ambient = strings(x, xp);
    });
    return c;
}

Rlimit rlimit(yajl_val v, const Path &p) {
    Rlimit r;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "type") r.type = str(x, xp);
        else if (k == "hard") r.hard = integer<uint64_t>(x, xp);
        else if (k == "soft") r.soft = integer<uint64_t>(x, xp);
    });
    return r;
}

ConsoleSize console_size(yajl_val v, const Path &p) {
    ConsoleSize c;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "height") c.height = integer<uint32_t>(x, xp);
        else if (k == "width") c.width = integer<uint32_t>(x, xp);
    });
    return c;
}

Scheduler scheduler(yajl_val v, const Path &p) {
    Scheduler s;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "policy") s.policy = str(x, xp);
        else if (k == "nice") s.nice = integer<int32_t>(x, xp);
        else if (k == "priority") s.priority = integer<int32_t>(x, xp);
        else if (k == "flags") s.flags = strings(x, xp);
        else if (k == "runtime") s.runtime = integer<uint64_t>(x, xp);
        else if (k == "deadline") s.deadline = integer<uint64_t>(x, xp);
        else if (k == "period") s.period = integer<uint64_t>(x, xp);
    });
    return s;
}

IOPriority io_priority(yajl_val v, const Path &p) {
    IOPriority io;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "class") io.klass = str(x, xp);
        else if (k == "priority") io.priority = integer<int32_t>(x, xp);
    });
    return io;
}

ExecCPUAffinity cpu_affinity(yajl_val v, const Path &p) {
    ExecCPUAffinity a;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "initial") a.initial = str(x, xp);
        else if (k == "final") a.final_ = str(x, xp);
    });
    return a;
}

Process process(yajl_val v, const Path &p) {
    Process pr;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "terminal") pr.terminal = boolean(x, xp);
        else if (k == "consoleSize") pr.consoleSize = console_size(x, xp);
        else if (k == "user") pr.user = user(x, xp);
        else if (k == "args") pr.args = strings(x, xp);
        else if (k == "commandLine") pr.commandLine = str(x, xp);
        else if (k == "env") pr.env = strings(x, xp);
        else if (k == "cwd") pr.cwd = str(x, xp);
        else if (k == "capabilities") pr.capabilities = capabilities(x, xp);
        else if (k == "rlimits") pr.rlimits = list(x, xp, rlimit);
        else if (k == "noNewPrivileges") pr.noNewPrivileges = boolean(x, xp);
        else if (k == "apparmorProfile") pr.apparmorProfile = str(x, xp);
        else if (k == "oomScoreAdj") pr.oomScoreAdj = integer<int32_t>(x, xp);
        else if (k == "selinuxLabel") pr.selinuxLabel = str(x, xp);
        else if (k == "scheduler") pr.scheduler = scheduler(x, xp);
        else if (k == "ioPriority") pr.ioPriority = io_priority(x, xp);
        else if (k == "execCPUAffinity") pr.execCPUAffinity = cpu_affinity(x, xp);
    });
    return pr;
}

// ---- root, mounts, hooks ---------------------------------------------------------

Root root(yajl_val v, const Path &p) {
    Root r;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "path") r.path = str(x, xp);
        else if (k == "readonly") r.readonly = boolean(x, xp);
    });
    return r;
}

Mount mount(yajl_val v, const Path &p) {
    Mount m;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "destination") m.destination = str(x, xp);
        else if (k == "type") m.type = str(x, xp);
        else if (k == "source") m.source = str(x, xp);
        else if (k == "options") m.options = strings(x, xp);
        else if (k == "uidMappings") m.uidMappings = id_mappings(x, xp);
        else if (k == "gidMappings") m.gidMappings = id_mappings(x, xp);
    });
    return m;
}

Hook hook(yajl_val v, const Path &p) {
    Hook h;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "path") h.path = str(x, xp);
        else if (k == "args") h.args = strings(x, xp);
        else if (k == "env") h.env = strings(x, xp);
        else if (k == "timeout") h.timeout = integer<int32_t>(x, xp);
    });
    return h;
}

Hooks hooks(yajl_val v, const Path &p) {
    Hooks h;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "prestart") h.prestart = list(x, xp, hook);
        else if (k == "createRuntime") h.createRuntime = list(x, xp, hook);
        else if (k == "createContainer") h.createContainer = list(x, xp, hook);
        else if (k == "startContainer") h.startContainer = list(x, xp, hook);
        else if (k == "poststart") h.poststart = list(x, xp, hook);
        else if (k == "poststop") h.poststop = list(x, xp, hook);
    });
    return h;
}

// ---- linux.resources -------------------------------------------------------------

DeviceRule device_rule(yajl_val v, const Path &p) {
    DeviceRule d;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "allow") d.allow = boolean(x, xp);
        else if (k == "type") d.type = str(x, xp);
        else if (k == "major") d.major = integer<int64_t>(x, xp);
        else if (k == "minor") d.minor = integer<int64_t>(x, xp);
        else if (k == "access") d.access = str(x, xp);
    });
    return d;
}

Memory memory(yajl_val v, const Path &p) {
    Memory m;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "limit") m.limit = integer<int64_t>(x, xp);
        else if (k == "reservation") m.reservation = integer<int64_t>(x, xp);
        else if (k == "swap") m.swap = integer<int64_t>(x, xp);
        else if (k == "kernel") m.kernel = integer<int64_t>(x, xp);
        else if (k == "kernelTCP") m.kernelTCP = integer<int64_t>(x, xp);
        else if (k == "swappiness") m.swappiness = integer<uint64_t>(x, xp);
        else if (k == "disableOOMKiller") m.disableOOMKiller = boolean(x, xp);
        else if (k == "useHierarchy") m.useHierarchy = boolean(x, xp);
        else if (k == "checkBeforeUpdate") m.checkBeforeUpdate = boolean(x, xp);
    });
    return m;
}

Cpu cpu(yajl_val v, const Path &p) {
    Cpu c;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "shares") c.shares = integer<uint64_t>(x, xp);
        else if (k == "quota") c.quota = integer<int64_t>(x, xp);
        else if (k == "burst") c.burst = integer<uint64_t>(x, xp);
        else if (k == "period") c.period = integer<uint64_t>(x, xp);
        else if (k == "realtimeRuntime") c.realtimeRuntime = integer<int64_t>(x, xp);
        else if (k == "realtimePeriod") c.realtimePeriod = integer<uint64_t>(x, xp);
        else if (k == "cpus") c.cpus = str(x, xp);
        else if (k == "mems") c.mems = str(x, xp);
        else if (k == "idle") c.idle = integer<int64_t>(x, xp);
    });
    return c;
}

Pids pids(yajl_val v, const Path &p) {
    Pids out;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "limit") out.limit = integer<int64_t>(x, xp);
    });
    return out;
}

WeightDevice weight_device(yajl_val v, const Path &p) {
    WeightDevice d;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "major") d.major = integer<int64_t>(x, xp);
        else if (k == "minor") d.minor = integer<int64_t>(x, xp);
        else if (k == "weight") d.weight = integer<uint16_t>(x, xp);
        else if (k == "leafWeight") d.leafWeight = integer<uint16_t>(x, xp);
    });
    return d;
}

ThrottleDevice throttle_device(yajl_val v, const Path &p) {
    ThrottleDevice d;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "major") d.major = integer<int64_t>(x, xp);
        else if (k == "minor") d.minor = integer<int64_t>(x, xp);
        else if (k == "rate") d.rate = integer<uint64_t>(x, xp);
    });
    return d;
}

BlockIO block_io(yajl_val v, const Path &p) {
    BlockIO b;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "weight") b.weight = integer<uint16_t>(x, xp);
        else if (k == "leafWeight") b.leafWeight = integer<uint16_t>(x, xp);
        else if (k == "weightDevice") b.weightDevice = list(x, xp, weight_device);
        else if (k == "throttleReadBpsDevice") b.throttleReadBpsDevice = list(x, xp, throttle_device);
        else if (k == "throttleWriteBpsDevice") b.throttleWriteBpsDevice = list(x, xp, throttle_device);
        else if (k == "throttleReadIOPSDevice") b.throttleReadIOPSDevice = list(x, xp, throttle_device);
        else if (k == "throttleWriteIOPSDevice") b.throttleWriteIOPSDevice = list(x, xp, throttle_device);
    });
    return b;
}

HugepageLimit hugepage_limit(yajl_val v, const Path &p) {
    HugepageLimit h;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "pageSize") h.pageSize = str(x, xp);
        else if (k == "limit") h.limit = integer<uint64_t>(x, xp);
    });
    return h;
}

NetPriority net_priority(yajl_val v, const Path &p) {
    NetPriority n;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "name") n.name = str(x, xp);
        else if (k == "priority") n.priority = integer<uint32_t>(x, xp);
    });
    return n;
}

Network network(yajl_val v, const Path &p) {
    Network n;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "classID") n.classID = integer<uint32_t>(x, xp);
        else if (k == "priorities") n.priorities = list(x, xp, net_priority);
    });
    return n;
}

Rdma rdma(yajl_val v, const Path &p) {
    Rdma r;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "hcaHandles") r.hcaHandles = integer<uint32_t>(x, xp);
        else if (k == "hcaObjects") r.hcaObjects = integer<uint32_t>(x, xp);
    });
    return r;
}

Resources resources(yajl_val v, const Path &p) {
    Resources r;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "devices") r.devices = list(x, xp, device_rule);
        else if (k == "memory") r.memory = memory(x, xp);
        else if (k == "cpu") r.cpu = cpu(x, xp);
        else if (k == "pids") r.pids = pids(x, xp);
        else if (k == "blockIO") r.blockIO = block_io(x, xp);
        else if (k == "hugepageLimits") r.hugepageLimits = list(x, xp, hugepage_limit);
        else if (k == "network") r.network = network(x, xp);
        else if (k == "rdma") r.rdma = map_of(x, xp, rdma);
        else if (k == "unified") r.unified = string_map(x, xp);
    });
    return r;
}

// ---- linux -------------------------------------------------------------------------

Namespace name_space(yajl_val v, const Path &p) {
    Namespace n;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "type") {
            n.type = str(x, xp);
            if (!tables::find(tables::kNamespaces, n.type)) fail(xp, "unknown namespace type \"" + n.type + "\"");
        } else if (k == "path") {
            n.path = str(x, xp);
        }
    });
    return n;
}

TimeOffset time_offset(yajl_val v, const Path &p) {
    TimeOffset t;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "secs") t.secs = integer<int64_t>(x, xp);
        else if (k == "nanosecs") t.nanosecs = integer<uint32_t>(x, xp);
    });
    return t;
}

Device device(yajl_val v, const Path &p) {
    Device d;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "type") d.type = str(x, xp);
        else if (k == "path") d.path = str(x, xp);
        else if (k == "major") d.major = integer<int64_t>(x, xp);
        else if (k == "minor") d.minor = integer<int64_t>(x, xp);
        else if (k == "fileMode") d.fileMode = integer<uint32_t>(x, xp);
        else if (k == "uid") d.uid = integer<uint32_t>(x, xp);
        else if (k == "gid") d.gid = integer<uint32_t>(x, xp);
    });
    return d;
}

NetDevice net_device(yajl_val v, const Path &p) {
    NetDevice n;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "name") n.name = str(x, xp);
    });
    return n;
}

SeccompArg seccomp_arg(yajl_val v, const Path &p) {
    SeccompArg a;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "index") a.index = integer<uint32_t>(x, xp);
        else if (k == "value") a.value = integer<uint64_t>(x, xp);
        else if (k == "valueTwo") a.valueTwo = integer<uint64_t>(x, xp);
        else if (k == "op") a.op = str(x, xp);
    });
    return a;
}

SeccompSyscall seccomp_syscall(yajl_val v, const Path &p) {
    SeccompSyscall s;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "names") s.names = strings(x, xp);
        else if (k == "action") s.action = str(x, xp);
        else if (k == "errnoRet") s.errnoRet = integer<uint32_t>(x, xp);
        else if (k == "args") s.args = list(x, xp, seccomp_arg);
    });
    return s;
}

Seccomp seccomp(yajl_val v, const Path &p) {
    Seccomp s;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "defaultAction") s.defaultAction = str(x, xp);
        else if (k == "defaultErrnoRet") s.defaultErrnoRet = integer<uint32_t>(x, xp);
        else if (k == "architectures") s.architectures = strings(x, xp);
        else if (k == "flags") s.flags = strings(x, xp);
        else if (k == "listenerPath") s.listenerPath = str(x, xp);
        else if (k == "listenerMetadata") s.listenerMetadata = str(x, xp);
        else if (k == "syscalls") s.syscalls = list(x, xp, seccomp_syscall);
    });
    return s;
}

Personality personality(yajl_val v, const Path &p) {
    Personality out;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "domain") out.domain = str(x, xp);
        else if (k == "flags") out.flags = strings(x, xp);
    });
    return out;
}

IntelRdt intel_rdt(yajl_val v, const Path &p) {
    IntelRdt r;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "closID") r.closID = str(x, xp);
        else if (k == "l3CacheSchema") r.l3CacheSchema = str(x, xp);
        else if (k == "memBwSchema") r.memBwSchema = str(x, xp);
        else if (k == "schemata") r.schemata = strings(x, xp);
        else if (k == "enableMonitoring") r.enableMonitoring = boolean(x, xp);
        else if (k == "enableCMT") r.enableCMT = boolean(x, xp);
        else if (k == "enableMBM") r.enableMBM = boolean(x, xp);
    });
    return r;
}

MemoryPolicy memory_policy(yajl_val v, const Path &p) {
    MemoryPolicy m;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "mode") m.mode = str(x, xp);
        else if (k == "nodes") m.nodes = str(x, xp);
        else if (k == "flags") m.flags = strings(x, xp);
    });
    return m;
}

Linux linux_section(yajl_val v, const Path &p) {
    Linux l;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "namespaces") l.namespaces = list(x, xp, name_space);
        else if (k == "uidMappings") l.uidMappings = id_mappings(x, xp);
        else if (k == "gidMappings") l.gidMappings = id_mappings(x, xp);
        else if (k == "timeOffsets") l.timeOffsets = map_of(x, xp, time_offset);
        else if (k == "devices") l.devices = list(x, xp, device);
        else if (k == "netDevices") l.netDevices = map_of(x, xp, net_device);
        else if (k == "cgroupsPath") l.cgroupsPath = str(x, xp);
        else if (k == "resources") l.resources = resources(x, xp);
        else if (k == "rootfsPropagation") l.rootfsPropagation = str(x, xp);
        else if (k == "seccomp") l.seccomp = seccomp(x, xp);
        else if (k == "sysctl") l.sysctl = string_map(x, xp);
        else if (k == "maskedPaths") l.maskedPaths = strings(x, xp);
        else if (k == "readonlyPaths") l.readonlyPaths = strings(x, xp);
        else if (k == "mountLabel") l.mountLabel = str(x, xp);
        else if (k == "personality") l.personality = personality(x, xp);
        else if (k == "intelRdt") l.intelRdt = intel_rdt(x, xp);
        else if (k == "memoryPolicy") l.memoryPolicy = memory_policy(x, xp);
    });
    return l;
}

Spec spec_document(yajl_val v, const Path &p) {
    Spec s;
    members(v, p, [&](std::string_view k, yajl_val x, const Path &xp) {
        if (k == "ociVersion") s.ociVersion = str(x, xp);
        else if (k == "process") s.process = process(x, xp);
        else if (k == "root") s.root = root(x, xp);
        else if (k == "hostname") s.hostname = str(x, xp);
        else if (k == "domainname") s.domainname = str(x, xp);
        else if (k == "mounts") s.mounts = list(x, xp, mount);
        else if (k == "hooks") s.hooks = hooks(x, xp);
        else if (k == "annotations") s.annotations = string_map(x, xp);
        else if (k == "linux") s.linux = linux_section(x, xp);
    });
    return s;
}

// ---- documents -------------------------------------------------------------------------

bool blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// Parses a whole document whose top level must be an object. `text` must be
// NUL-terminated at text.size().
template <class F>
auto parse_document(const std::string &text, std::string_view file, F &&top) {
    Path root_path{nullptr, file, 0, false};
    if (blank(text)) throw Error("config cannot be null");
    detail::Tree tree = detail::parse_tree(text.c_str(), text.size(), file);
    if (YAJL_IS_NULL(tree.get())) throw Error("config cannot be null");
    if (!YAJL_IS_OBJECT(tree.get())) wrong_type(tree.get(), root_path, "object");
    return top(tree.get(), root_path);
}

std::string read_file(const std::string &path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) throw Error("JSON specification file config.json not found", ENOENT);
        throw_errno("open " + path);
    }
    struct stat st {};
    size_t size = ::fstat(fd, &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
    // One byte of slack so the read that sees EOF needs no regrowth.
    std::string text(size + 1, '\0');
    size_t len = 0;
    for (;;) {
        if (len == text.size()) text.resize(text.size() * 2);
        ssize_t n = ::read(fd, text.data() + len, text.size() - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            throw_errno("read " + path, err);
        }
        if (n == 0) break;
        len += static_cast<size_t>(n);
    }
    ::close(fd);
    text.resize(len);
    return text;
}

}  // namespace

Spec parse_config(std::string_view json, std::string_view file) {
    return parse_document(std::string(json), file, spec_document);
}

Spec load_config(const std::string &bundle) {
    // Parse straight from the read buffer: std::string is NUL-terminated.
    return parse_document(read_file(bundle + "/config.json"), "config.json", spec_document);
}

Process parse_process(std::string_view json, std::string_view file) {
    return parse_document(std::string(json), file, process);
}

Resources parse_resources(std::string_view json, std::string_view file) {
    return parse_document(std::string(json), file, resources);
}

}  // namespace kiln::spec
