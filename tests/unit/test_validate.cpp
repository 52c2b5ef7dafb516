// validate(): one case per rule, each checking the exact message.
#include <catch2/catch.hpp>

#include "kiln/error.hpp"
#include "kiln/spec.hpp"
#include "linux/process.hpp"
#include "test_data.hpp"

using namespace kiln::spec;

namespace {

Spec base() { return parse_config(read_test_data("runc-spec.json")); }

std::string validation_error(const Spec &s) {
    try {
        validate(s);
    } catch (const kiln::Error &e) {
        return e.what();
    }
    return "";
}

Spec with_user_ns() {
    Spec s = base();
    s.linux->namespaces.push_back({"user", ""});
    s.linux->uidMappings = {{0, 1000, 1}};
    s.linux->gidMappings = {{0, 1000, 1}};
    return s;
}

}  // namespace

TEST_CASE("validate accepts the base config") { CHECK(validation_error(base()) == ""); }

TEST_CASE("validate: uids and gids above 2^31-1 are refused, naming the field") {
    // 4294967295 is (uid_t)-1: "unchanged" to setresuid, i.e. root.
    Spec s = base();
    s.process->user.uid = 2147483647u;
    s.process->user.additionalGids = {0, 2147483647u};
    CHECK(validation_error(s) == "");
    s.process->user.uid = 4294967295u;
    CHECK(validation_error(s) == "config.json: process.user.uid: uids and gids must be in range 0-2147483647");
    s.process->user.uid = 0;
    s.process->user.gid = 2147483648u;
    CHECK(validation_error(s) == "config.json: process.user.gid: uids and gids must be in range 0-2147483647");
    s.process->user.gid = 0;
    s.process->user.additionalGids = {5, 4294967295u};
    CHECK(validation_error(s) ==
          "config.json: process.user.additionalGids[1]: uids and gids must be in range 0-2147483647");
    // The parser keeps the full uint32 range; only validation refuses.
    auto p = parse_process(R"({"args":["sh"],"cwd":"/","user":{"uid":4294967295,"gid":0}})");
    CHECK(p.user.uid == 4294967295u);
    CHECK_THROWS_WITH(validate_user(p.user, "p.json"), "p.json: process.user.uid: uids and gids must be in range 0-2147483647");
}

TEST_CASE("validate: process rules use runc's words") {
    Spec s = base();
    s.process.reset();
    // Valid without a process (runtime-spec); create/run decide whether they need one.
    CHECK(validation_error(s) == "");
    s = base();
    s.process->cwd = "";
    CHECK(validation_error(s) == "Cwd property must not be empty");
    s.process->cwd = "srv";
    CHECK(validation_error(s) == "Cwd must be an absolute path");
    s = base();
    s.process->args.clear();
    CHECK(validation_error(s) == "args must not be empty");
    // runc checks cwd before args.
    s.process->cwd = "";
    CHECK(validation_error(s) == "Cwd property must not be empty");
}

TEST_CASE("validate: ociVersion and root.path are required") {
    Spec s = base();
    s.ociVersion.clear();
    CHECK(validation_error(s) == "config.json: ociVersion: must not be empty");
    s = base();
    s.root.reset();
    CHECK(validation_error(s) == "config.json: root.path: must not be empty");
    s = base();
    s.root->path.clear();
    CHECK(validation_error(s) == "config.json: root.path: must not be empty");
}

TEST_CASE("validate: namespaces") {
    Spec s = base();
    s.linux->namespaces.push_back({"pid", ""});
    CHECK(validation_error(s) == "config.json: linux.namespaces: duplicate namespace \"pid\"");
    s = base();
    s.linux->namespaces[3].type = "net";
    CHECK(validation_error(s) == "config.json: linux.namespaces[3].type: unknown namespace type \"net\"");
    s = base();
    s.linux->namespaces[1].path = "run/netns/x";
    CHECK(validation_error(s) == "config.json: linux.namespaces[1].path: must be an absolute path");
    s.linux->namespaces[1].path = "/run/netns/x";
    CHECK(validation_error(s) == "");
    s = base();
    for (const char *t : {"cgroup", "time"}) s.linux->namespaces.push_back({t, ""});
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: mounts") {
    Spec s = base();
    s.mounts[3].destination.clear();
    CHECK(validation_error(s) == "config.json: mounts[3].destination: must not be empty");
    s.mounts[3].destination = "dev/shm";  // relative: accepted like runc
    CHECK(validation_error(s) == "");
    // ... and made absolute (relative to /, runtime-spec 1.2); others untouched
    absolute_destinations(s);
    CHECK(s.mounts[3].destination == "/dev/shm");
    CHECK(s.mounts[0].destination == "/proc");
}

TEST_CASE("validate: idmap/ridmap without maps need the container's user namespace") {
    Spec s = base();
    Mount m;
    m.destination = "/idm";
    m.type = "bind";
    m.source = "/src";
    m.options = {"rbind", "idmap"};
    s.mounts.push_back(m);
    std::string where = "config.json: mounts[" + std::to_string(s.mounts.size() - 1) + "]: ";
    CHECK(validation_error(s) == where + "id-mapped mounts must have both uidMappings and gidMappings");
    Spec u = with_user_ns();
    u.mounts.push_back(m);
    CHECK(validation_error(u) == "");
    u.mounts.back().options = {"ridmap"};
    CHECK(validation_error(u) == "");
    u.mounts.back().type = "tmpfs";
    CHECK(validation_error(u) == where + "id-mapped mounts are only supported for bind mounts");
}

TEST_CASE("validate: hooks") {
    Spec s = base();
    s.hooks = Hooks{};
    s.hooks->poststop.push_back({"/bin/true", {}, {}, std::nullopt});
    s.hooks->poststop.push_back({"true", {}, {}, std::nullopt});
    CHECK(validation_error(s) == "config.json: hooks.poststop[1].path: must be an absolute path");
    s.hooks->poststop[1].path = "/bin/true";
    s.hooks->poststop[1].timeout = 0;
    CHECK(validation_error(s) == "config.json: hooks.poststop[1].timeout: must be greater than zero");
    s.hooks->poststop[1].timeout = 5;
    s.hooks->createRuntime.push_back({"", {}, {}, std::nullopt});
    CHECK(validation_error(s) == "config.json: hooks.createRuntime[0].path: must be an absolute path");
    for (auto *list : {&s.hooks->prestart, &s.hooks->createContainer, &s.hooks->startContainer, &s.hooks->poststart})
        list->push_back({"/x", {}, {}, 1});
    s.hooks->createRuntime[0].path = "/y";
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: rlimits") {
    Spec s = base();
    s.process->rlimits.push_back({"RLIMIT_BOGUS", 1, 1});
    CHECK(validation_error(s) == "config.json: process.rlimits[1].type: unknown rlimit type \"RLIMIT_BOGUS\"");
    s.process->rlimits[1].type = "RLIMIT_NOFILE";
    CHECK(validation_error(s) == "config.json: process.rlimits: duplicate rlimit type \"RLIMIT_NOFILE\"");
    s.process->rlimits[1].type = "RLIMIT_RTTIME";
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: unknown capabilities are left to the runtime's warning") {
    // runc ignores them with a warning ("ignoring unknown or unavailable capabilities").
    Spec s = base();
    s.process->capabilities->ambient.push_back("CAP_SYS_MAGIC");
    s.process->capabilities->inheritable = {"CAP_CHECKPOINT_RESTORE", "CAP_BPF", "CAP_PERFMON", "cap_kill"};
    s.process->capabilities->bounding.push_back("CAP_SYS_MAGIC");
    CHECK(validation_error(s) == "");
    CHECK(kiln::process::unknown_capabilities(*s.process->capabilities) ==
          std::vector<std::string>{"CAP_SYS_MAGIC", "cap_kill"});
    CHECK(kiln::process::unknown_capabilities(*base().process->capabilities).empty());
}

TEST_CASE("validate: scheduler and I/O priority") {
    Spec s = base();
    s.process->scheduler = Scheduler{};
    s.process->scheduler->policy = "SCHED_FAST";
    CHECK(validation_error(s) == "config.json: process.scheduler.policy: unknown policy \"SCHED_FAST\"");
    s.process->scheduler->policy = "SCHED_FIFO";
    s.process->ioPriority = IOPriority{"IOPRIO_CLASS_NONE", 0};
    CHECK(validation_error(s) == "config.json: process.ioPriority.class: unknown class \"IOPRIO_CLASS_NONE\"");
    s.process->ioPriority->klass = "IOPRIO_CLASS_IDLE";
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: uid/gid mappings need a user namespace") {
    Spec s = base();
    s.linux->uidMappings = {{0, 1000, 1}};
    CHECK(validation_error(s) == "config.json: linux.uidMappings: mappings specified, but no user namespace");
    s = base();
    s.linux->gidMappings = {{0, 1000, 1}};
    CHECK(validation_error(s) == "config.json: linux.gidMappings: mappings specified, but no user namespace");
    CHECK(validation_error(with_user_ns()) == "");
    s = with_user_ns();
    s.linux->uidMappings.clear();
    CHECK(validation_error(s) == "config.json: linux.uidMappings: user namespace enabled, but no uid mappings");
    s = with_user_ns();
    s.linux->gidMappings.clear();
    CHECK(validation_error(s) == "config.json: linux.gidMappings: user namespace enabled, but no gid mappings");
    // Joining an existing user namespace brings its own mappings.
    s.linux->uidMappings.clear();
    s.linux->namespaces.back().path = "/proc/1/ns/user";
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: sysctl keys") {
    Spec s = base();
    s.linux->sysctl[""] = "1";
    CHECK(validation_error(s) == "config.json: linux.sysctl: empty key");
    s.linux->sysctl.erase("");
    s.linux->sysctl["net.ipv4.ip_forward"] = "1";
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: time offsets need a time namespace") {
    Spec s = base();
    s.linux->timeOffsets["monotonic"] = {10, 0};
    CHECK(validation_error(s) == "config.json: linux.timeOffsets: time offsets need a time namespace");
    s.linux->namespaces.push_back({"time", ""});
    CHECK(validation_error(s) == "");
    s.linux->timeOffsets["realtime"] = {1, 0};
    CHECK(validation_error(s) == "config.json: linux.timeOffsets: unknown clock \"realtime\"");
    s.linux->timeOffsets.erase("realtime");
    s.linux->timeOffsets["boottime"] = {1, 1000000000};
    CHECK(validation_error(s) == "config.json: linux.timeOffsets.boottime.nanosecs: must be less than 1000000000");
    s.linux->timeOffsets["boottime"].nanosecs = 999999999;
    s.linux->namespaces.back().path = "/proc/1/ns/time";
    CHECK(validation_error(s) == "config.json: linux.timeOffsets: cannot be set when joining an existing time namespace");
}

TEST_CASE("validate: devices and device rules") {
    Spec s = base();
    s.linux->devices.push_back({"x", "/dev/null", 1, 3, std::nullopt, std::nullopt, std::nullopt});
    CHECK(validation_error(s) == "config.json: linux.devices[0].type: unknown device type \"x\"");
    s.linux->devices[0].type = "c";
    s.linux->devices[0].path = "dev/null";
    CHECK(validation_error(s) == "config.json: linux.devices[0].path: must be an absolute path");
    s.linux->devices[0].path = "/dev/null";
    CHECK(validation_error(s) == "");
    s.linux->resources->devices.push_back({true, "z", 1, 3, "rw"});
    CHECK(validation_error(s) == "config.json: linux.resources.devices[1].type: unknown device type \"z\"");
    s.linux->resources->devices[1].type = "c";
    s.linux->resources->devices[1].access = "rwx";  // runc ignores the x
    CHECK(validation_error(s) == "");
    s.linux->resources->devices[1].access = "m";
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: seccomp") {
    Spec s = base();
    s.linux->seccomp = Seccomp{};
    CHECK(validation_error(s) == "config.json: linux.seccomp.defaultAction: must not be empty");
    s.linux->seccomp->defaultAction = "SCMP_ACT_DENY";
    CHECK(validation_error(s) == "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_DENY\"");
    s.linux->seccomp->defaultAction = "SCMP_ACT_ERRNO";
    CHECK(validation_error(s) == "");
    s.linux->seccomp->architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"};
    CHECK(validation_error(s) == "config.json: linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\"");
    s.linux->seccomp->architectures.pop_back();
    s.linux->seccomp->flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NEW"};
    CHECK(validation_error(s) == "config.json: linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_NEW\"");
    s.linux->seccomp->flags.pop_back();
    SeccompSyscall call;
    call.action = "SCMP_ACT_ALLOW";
    s.linux->seccomp->syscalls.push_back(call);
    CHECK(validation_error(s) == "config.json: linux.seccomp.syscalls[0].names: must not be empty");
    s.linux->seccomp->syscalls[0].names = {"read"};
    s.linux->seccomp->syscalls[0].action = "allow";
    CHECK(validation_error(s) == "config.json: linux.seccomp.syscalls[0].action: unknown action \"allow\"");
    s.linux->seccomp->syscalls[0].action = "SCMP_ACT_NOTIFY";
    s.linux->seccomp->syscalls[0].args = {{0, 1, 0, "SCMP_CMP_EQ"}, {1, 1, 0, "=="}};
    CHECK(validation_error(s) == "config.json: linux.seccomp.syscalls[0].args[1].op: unknown operator \"==\"");
    s.linux->seccomp->syscalls[0].args[1].op = "SCMP_CMP_MASKED_EQ";
    CHECK(validation_error(s) == "config.json: linux.seccomp.listenerPath: must be set when SCMP_ACT_NOTIFY is used");
    s.linux->seccomp->listenerPath = "agent.sock";
    CHECK(validation_error(s) == "config.json: linux.seccomp.listenerPath: must be an absolute path");
    s.linux->seccomp->listenerPath = "/run/agent.sock";
    CHECK(validation_error(s) == "");
    s.linux->seccomp->syscalls[0].names = {"read", "write"};
    CHECK(validation_error(s) == "config.json: linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY cannot be used for the write syscall");
    s.linux->seccomp->syscalls[0].names = {"read"};
    s.linux->seccomp->defaultAction = "SCMP_ACT_NOTIFY";
    CHECK(validation_error(s) == "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
}

TEST_CASE("validate: rootfs propagation and personality") {
    Spec s = base();
    s.linux->rootfsPropagation = "everywhere";
    CHECK(validation_error(s) == "config.json: linux.rootfsPropagation: unknown propagation \"everywhere\"");
    s.linux->rootfsPropagation = "rslave";
    CHECK(validation_error(s) == "");
    s.linux->personality = Personality{"LINUX64", {}};
    CHECK(validation_error(s) == "config.json: linux.personality.domain: unknown domain \"LINUX64\"");
    s.linux->personality->domain = "LINUX32";
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: a config without a linux section") {
    Spec s = base();
    s.linux.reset();
    s.hostname.clear();  // a hostname needs a UTS namespace (runc)
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: sysctls need the namespace they belong to") {
    Spec s = base();
    s.linux->namespaces = {{"mount", ""}};
    s.hostname.clear();
    s.linux->sysctl = {{"net.ipv4.ip_forward", "1"}};
    CHECK(validation_error(s) == "config.json: linux.sysctl.net.ipv4.ip_forward: not allowed in the host's network namespace");
    s.linux->sysctl = {{"kernel.shmmax", "1"}};
    CHECK(validation_error(s) == "config.json: linux.sysctl.kernel.shmmax: not allowed in the host's ipc namespace");
    s.linux->sysctl = {{"fs.mqueue.msg_max", "1"}};
    CHECK(validation_error(s) == "config.json: linux.sysctl.fs.mqueue.msg_max: not allowed in the host's ipc namespace");
    s.linux->sysctl = {{"kernel.domainname", "x"}};
    CHECK(validation_error(s) == "config.json: linux.sysctl.kernel.domainname: not in a separate kernel namespace");
    s.linux->sysctl = {{"vm.swappiness", "1"}};
    CHECK(validation_error(s) == "config.json: linux.sysctl.vm.swappiness: not in a separate kernel namespace");
    s.linux->namespaces = {{"mount", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}};
    s.linux->sysctl = {{"net/ipv4/ip_forward", "1"}, {"kernel.shmmax", "1"}, {"fs.mqueue.msg_max", "1"},
                       {"kernel.domainname", "x"}};
    CHECK(validation_error(s) == "");
    // A joined network namespace: net.* only when it is not the one we run in (runc).
    s.linux->sysctl = {{"net.ipv4.ip_forward", "1"}};
    s.linux->namespaces[1].path = "/proc/self/ns/net";
    CHECK(validation_error(s) == "config.json: linux.sysctl.net.ipv4.ip_forward: not allowed in the host's network namespace");
    s.linux->namespaces[1].path = "/nonexistent/netns";
    CHECK(validation_error(s) == "config.json: linux.sysctl.net.ipv4.ip_forward: invalid netns path: stat /nonexistent/netns: No such file or directory");
    s.linux->namespaces[1].path = "";
    s.linux->sysctl = {{"kernel.hostname", "x"}};
    CHECK(validation_error(s) == "config.json: linux.sysctl.kernel.hostname: not allowed as it conflicts with the hostname field");
}

TEST_CASE("validate: hostname and domainname need a UTS namespace") {
    Spec s = base();
    s.linux->namespaces = {{"mount", ""}};
    s.hostname = "h";
    CHECK(validation_error(s) == "config.json: hostname: unable to set hostname without a private UTS namespace");
    s.hostname.clear();
    s.domainname = "d";
    CHECK(validation_error(s) == "config.json: domainname: unable to set domainname without a private UTS namespace");
    s.linux->namespaces = {{"mount", ""}, {"uts", "/proc/1/ns/uts"}};
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: linux lists (execCPUAffinity, memoryPolicy nodes)") {
    CHECK(parse_list("", "f").empty());
    CHECK(parse_list("0-3,7", "f") == std::vector<uint64_t>{0x8f});
    CHECK(parse_list(" 1 , ,65", "f") == std::vector<uint64_t>{0x2, 0x2});
    CHECK_THROWS_WITH(parse_list("3-1", "x.y"), "config.json: x.y: invalid list \"3-1\": invalid range \"3-1\"");
    CHECK_THROWS_WITH(parse_list("a", "x.y"), "config.json: x.y: invalid list \"a\": not a number: \"a\"");
    CHECK_THROWS_WITH(parse_list("70000", "x"), Catch::Matchers::Contains("values larger than 65536"));
    Spec s = base();
    s.process->execCPUAffinity = ExecCPUAffinity{"0", "1-"};
    CHECK(validation_error(s) == "config.json: process.execCPUAffinity.final: invalid list \"1-\": not a number: \"\"");
    s.process->execCPUAffinity->final_ = "0-1";
    CHECK(validation_error(s) == "");
}

TEST_CASE("validate: linux.memoryPolicy") {
    Spec s = base();
    s.linux->memoryPolicy = MemoryPolicy{"MPOL_BOGUS", "", {}};
    CHECK(validation_error(s) == "config.json: linux.memoryPolicy.mode: unknown mode \"MPOL_BOGUS\"");
    s.linux->memoryPolicy = MemoryPolicy{"MPOL_BIND", "", {}};
    CHECK(validation_error(s) == "config.json: linux.memoryPolicy.nodes: MPOL_BIND needs at least one node");
    s.linux->memoryPolicy = MemoryPolicy{"MPOL_LOCAL", "0", {}};
    CHECK(validation_error(s) == "config.json: linux.memoryPolicy.nodes: MPOL_LOCAL takes no nodes");
    s.linux->memoryPolicy = MemoryPolicy{"MPOL_PREFERRED", "", {"MPOL_F_STATIC_NODES", "MPOL_F_BOGUS"}};
    CHECK(validation_error(s) == "config.json: linux.memoryPolicy.flags[1]: unknown flag \"MPOL_F_BOGUS\"");
    s.linux->memoryPolicy->flags.pop_back();
    CHECK(validation_error(s) == "");
    CHECK(memory_policy_mode(*s.linux->memoryPolicy) == (1u | (1u << 15)));
}

TEST_CASE("validate: linux.netDevices") {
    Spec s = base();
    s.linux->netDevices["eth1"] = NetDevice{"c0"};
    CHECK(validation_error(s) == "");
    s.linux->netDevices["eth1"].name = "a/b";
    CHECK(validation_error(s) == "config.json: linux.netDevices.eth1.name: invalid network device name \"a/b\"");
    s.linux->netDevices.clear();
    s.linux->netDevices["0123456789abcdef"] = NetDevice{};
    CHECK(validation_error(s) == "config.json: linux.netDevices: invalid network device name \"0123456789abcdef\"");
    s.linux->netDevices.clear();
    s.linux->netDevices["eth1"] = NetDevice{};
    std::erase_if(s.linux->namespaces, [](const Namespace &n) { return n.type == "network"; });
    CHECK(validation_error(s) == "config.json: linux.netDevices: unable to move network devices without a NET namespace");
}

TEST_CASE("validate: linux.intelRdt.closID and the WAIT_KILLABLE_RECV seccomp flag") {
    Spec s = base();
    s.linux->intelRdt = IntelRdt{};
    for (const char *ok : {"", "/", "guaranteed"}) {
        s.linux->intelRdt->closID = ok;
        CHECK(validation_error(s) == "");
    }
    s.linux->intelRdt->closID = "a/b";
    CHECK(validation_error(s) == "config.json: linux.intelRdt.closID: invalid closID \"a/b\"");
    s = base();
    s.linux->seccomp.emplace();
    s.linux->seccomp->defaultAction = "SCMP_ACT_ALLOW";
    s.linux->seccomp->flags = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
    CHECK(validation_error(s) ==
          "config.json: linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule");
}
