// Typed model of the OCI runtime-spec (v1.3) config.json.
// Only src/spec/ sees the JSON library; everything else works on these structs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::spec {

inline constexpr const char *kSpecVersion = "1.3.0";

struct IdMapping {
    uint32_t containerID = 0;
    uint32_t hostID = 0;
    uint32_t size = 0;
};

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<uint32_t> umask;
    std::vector<uint32_t> additionalGids;
    std::string username;
};

struct Capabilities {
    std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
    std::string type;  // "RLIMIT_NOFILE"
    uint64_t hard = 0;
    uint64_t soft = 0;
};

struct ConsoleSize {
    uint32_t height = 0;
    uint32_t width = 0;
};

struct Scheduler {
    std::string policy;  // SCHED_OTHER, ...
    int32_t nice = 0;
    int32_t priority = 0;
    std::vector<std::string> flags;
    uint64_t runtime = 0, deadline = 0, period = 0;
};

struct IOPriority {
    std::string klass;  // JSON "class"
    int32_t priority = 0;
};

struct ExecCPUAffinity {
    std::string initial, final_;  // JSON "initial", "final"
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> consoleSize;
    User user;
    std::vector<std::string> args;
    std::optional<std::string> commandLine;
    std::vector<std::string> env;
    std::string cwd;
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool noNewPrivileges = false;
    std::string apparmorProfile;
    std::optional<int> oomScoreAdj;
    std::string selinuxLabel;
    std::optional<Scheduler> scheduler;
    std::optional<IOPriority> ioPriority;
    std::optional<ExecCPUAffinity> execCPUAffinity;
};

struct Root {
    std::string path;
    bool readonly = false;
};

struct Mount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
    std::vector<IdMapping> uidMappings, gidMappings;
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;
};

struct Hooks {
    std::vector<Hook> prestart, createRuntime, createContainer, startContainer, poststart, poststop;
};

struct Namespace {
    std::string type;  // pid network mount ipc uts user cgroup time
    std::string path;
};

struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
};

struct Device {
    std::string type;  // c b u p
    std::string path;
    int64_t major = 0, minor = 0;
    std::optional<uint32_t> fileMode;
    std::optional<uint32_t> uid, gid;
};

struct DeviceRule {  // linux.resources.devices[]
    bool allow = false;
    std::string type;  // a c b ("" = all)
    std::optional<int64_t> major, minor;
    std::string access;  // rwm
};

struct Memory {
    std::optional<int64_t> limit, reservation, swap, kernel, kernelTCP;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disableOOMKiller, useHierarchy, checkBeforeUpdate;
};

struct Cpu {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;
    std::optional<uint64_t> burst;
    std::optional<uint64_t> period;
    std::optional<int64_t> realtimeRuntime;
    std::optional<uint64_t> realtimePeriod;
    std::string cpus, mems;
    std::optional<int64_t> idle;
};

struct Pids {
    std::optional<int64_t> limit;
};

struct WeightDevice {
    int64_t major = 0, minor = 0;
    std::optional<uint16_t> weight, leafWeight;
};

struct ThrottleDevice {
    int64_t major = 0, minor = 0;
    uint64_t rate = 0;
};

struct BlockIO {
    std::optional<uint16_t> weight, leafWeight;
    std::vector<WeightDevice> weightDevice;
    std::vector<ThrottleDevice> throttleReadBpsDevice, throttleWriteBpsDevice, throttleReadIOPSDevice,
        throttleWriteIOPSDevice;
};

struct HugepageLimit {
    std::string pageSize;
    uint64_t limit = 0;
};

struct NetPriority {
    std::string name;
    uint32_t priority = 0;
};

struct Network {
    std::optional<uint32_t> classID;
    std::vector<NetPriority> priorities;
};

struct Rdma {
    std::optional<uint32_t> hcaHandles, hcaObjects;
};

struct Resources {
    std::vector<DeviceRule> devices;
    std::optional<Memory> memory;
    std::optional<Cpu> cpu;
    std::optional<Pids> pids;
    std::optional<BlockIO> blockIO;
    std::vector<HugepageLimit> hugepageLimits;
    std::optional<Network> network;
    std::map<std::string, Rdma> rdma;
    std::map<std::string, std::string> unified;
};

struct SeccompArg {
    uint32_t index = 0;
    uint64_t value = 0;
    uint64_t valueTwo = 0;
    std::string op;  // SCMP_CMP_EQ ...
};

struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action;
    std::optional<uint32_t> errnoRet;
    std::vector<SeccompArg> args;
};

struct Seccomp {
    std::string defaultAction;
    std::optional<uint32_t> defaultErrnoRet;
    std::vector<std::string> architectures;
    std::vector<std::string> flags;
    std::string listenerPath;
    std::string listenerMetadata;
    std::vector<SeccompSyscall> syscalls;
};

struct Personality {
    std::string domain;  // LINUX LINUX32
    std::vector<std::string> flags;
};

struct IntelRdt {
    std::string closID, l3CacheSchema, memBwSchema;
    std::vector<std::string> schemata;
    bool enableMonitoring = false;
    bool enableCMT = false, enableMBM = false;  // runtime-spec 1.2 monitoring switches
};

struct MemoryPolicy {
    std::string mode, nodes;
    std::vector<std::string> flags;
};

struct NetDevice {
    std::string name;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uidMappings, gidMappings;
    std::map<std::string, TimeOffset> timeOffsets;  // "monotonic", "boottime"
    std::vector<Device> devices;
    std::map<std::string, NetDevice> netDevices;
    std::string cgroupsPath;
    std::optional<Resources> resources;
    std::string rootfsPropagation;
    std::optional<Seccomp> seccomp;
    std::map<std::string, std::string> sysctl;
    std::vector<std::string> maskedPaths;
    std::vector<std::string> readonlyPaths;
    std::string mountLabel;
    std::optional<Personality> personality;
    std::optional<IntelRdt> intelRdt;
    std::optional<MemoryPolicy> memoryPolicy;
};

struct Spec {
    std::string ociVersion;
    std::optional<Process> process;
    std::optional<Root> root;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    std::optional<Hooks> hooks;
    std::map<std::string, std::string> annotations;
    std::optional<Linux> linux;
};

// Parses config.json text. `file` names the document in errors, e.g.
// "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"".
// Throws kiln::Error. Unknown fields are ignored (runtime-spec).
Spec parse_config(std::string_view json, std::string_view file = "config.json");

// Reads <bundle>/config.json and parses it; errors as runc words them
// ("JSON specification file config.json not found").
Spec load_config(const std::string &bundle);

// A runtime-spec "process" object (exec --process FILE).
Process parse_process(std::string_view json, std::string_view file = "process.json");

// A runtime-spec LinuxResources object (update --resources FILE).
Resources parse_resources(std::string_view json, std::string_view file = "resources.json");

// Semantic checks that run before anything is created (runc's validate pass):
// required fields, absolute paths, known namespace types, no duplicates ...
// Throws kiln::Error naming the field.
void validate(const Spec &spec);
// Relative mount destinations are relative to / (runtime-spec 1.2): made
// absolute once, so that every later check and mount sees one spelling.
void absolute_destinations(Spec &spec);

// The largest uid or gid a process may be given (runc's limit). (uid_t)-1
// means "leave unchanged" to setresuid(2): uid 4294967295 would run as root.
inline constexpr uint32_t kMaxId = 0x7fffffff;
inline constexpr const char *kIdRangeError = "uids and gids must be in range 0-2147483647";
// process.user of a config (file "config.json") or of `exec --process FILE`:
// throws Error("FILE: process.user.uid: uids and gids must be in range ...").
void validate_user(const User &u, std::string_view file = "config.json");

// A Linux list ("0-3,7,9-10": the cpus of execCPUAffinity, the nodes of
// memoryPolicy) as a bit mask, bit n in word n/64; empty for an empty list.
// Throws Error("<field>: invalid list ...") naming `field`.
std::vector<uint64_t> parse_list(std::string_view list, std::string_view field);
// linux.memoryPolicy as set_mempolicy(2) takes its mode: mode | flags.
// The names were checked by validate(); throws on unknown ones.
unsigned memory_policy_mode(const MemoryPolicy &m);

// The default config `kiln spec` writes (runc's template), as pretty JSON.
std::string default_config_json(bool rootless, uint32_t uid, uint32_t gid);

// The runtime-spec features document `kiln features` prints. criu_version:
// the CRIU checkpoint/restore would use ("4.2.1"), "" when there is none.
std::string features_json(const std::string &criu_version = {});

// The container state object of the runtime-spec (hooks' stdin, compact JSON):
// {"ociVersion":..,"id":..,"status":..,"pid":..,"bundle":..,"annotations":{..}}
std::string hook_state_json(std::string_view ociVersion, std::string_view id, std::string_view status, int pid,
                            std::string_view bundle, const std::map<std::string, std::string> &annotations);

}  // namespace kiln::spec

namespace kiln::spec {
// Hooks as JSON text and back (kept in state.json for start and delete).
std::string hooks_json(const Hooks &h);
Hooks parse_hooks(std::string_view text);
}  // namespace kiln::spec
