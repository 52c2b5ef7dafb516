// Parsing of config.json, process.json and resources.json into kiln::spec.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "kiln/error.hpp"
#include "kiln/spec.hpp"
#include "test_data.hpp"

using namespace kiln::spec;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// The message parse_config throws for `json`, or "" when it parses.
std::string parse_error(const std::string &json) {
    try {
        parse_config(json);
    } catch (const kiln::Error &e) {
        return e.what();
    }
    return "";
}

// A config with `inner` spliced into the top-level object.
std::string config_with(const std::string &inner) { return R"({"ociVersion":"1.2.0",)" + inner + "}"; }

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/kiln-spec-test.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    void write(const std::string &name, const std::string &text) const {
        std::ofstream(path + "/" + name, std::ios::binary) << text;
    }
};

}  // namespace

TEST_CASE("runc spec output parses") {
    Spec s = parse_config(read_test_data("runc-spec.json"));
    CHECK(s.ociVersion == "1.0.2-dev");
    REQUIRE(s.process);
    CHECK(s.process->terminal);
    CHECK(s.process->user.uid == 0);
    CHECK(s.process->args == std::vector<std::string>{"sh"});
    CHECK(s.process->env.size() == 2);
    CHECK(s.process->cwd == "/");
    REQUIRE(s.process->capabilities);
    CHECK(s.process->capabilities->bounding ==
          std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
    CHECK(s.process->capabilities->inheritable.empty());
    REQUIRE(s.process->rlimits.size() == 1);
    CHECK(s.process->rlimits[0].type == "RLIMIT_NOFILE");
    CHECK(s.process->rlimits[0].hard == 1024);
    CHECK(s.process->noNewPrivileges);
    REQUIRE(s.root);
    CHECK(s.root->path == "rootfs");
    CHECK(s.root->readonly);
    CHECK(s.hostname == "runc");
    REQUIRE(s.mounts.size() == 7);
    CHECK(s.mounts[2].destination == "/dev/pts");
    CHECK(s.mounts[2].options.back() == "gid=5");
    CHECK(s.mounts[0].options.empty());
    REQUIRE(s.linux);
    REQUIRE(s.linux->resources);
    REQUIRE(s.linux->resources->devices.size() == 1);
    CHECK_FALSE(s.linux->resources->devices[0].allow);
    CHECK(s.linux->resources->devices[0].access == "rwm");
    CHECK_FALSE(s.linux->resources->devices[0].major);
    REQUIRE(s.linux->namespaces.size() == 5);
    CHECK(s.linux->namespaces[1].type == "network");
    CHECK(s.linux->maskedPaths.size() == 10);
    CHECK(s.linux->readonlyPaths.size() == 5);
    CHECK_FALSE(s.hooks);
    CHECK_FALSE(s.linux->seccomp);
    CHECK_NOTHROW(validate(s));
}

TEST_CASE("runc spec --rootless output parses") {
    Spec s = parse_config(read_test_data("runc-spec-rootless.json"));
    REQUIRE(s.linux);
    REQUIRE(s.linux->uidMappings.size() == 1);
    CHECK(s.linux->uidMappings[0].size == 1);
    REQUIRE(s.linux->gidMappings.size() == 1);
    CHECK(s.linux->namespaces.back().type == "user");
    CHECK_FALSE(s.linux->resources);
    CHECK(s.mounts[5].type == "none");
    CHECK(s.mounts[5].options.front() == "rbind");
    CHECK_NOTHROW(validate(s));
}

TEST_CASE("crun spec output parses") {
    Spec s = parse_config(read_test_data("crun-spec.json"));
    CHECK(s.ociVersion == "1.0.0");
    CHECK(s.hostname == "crun");
    REQUIRE(s.process->capabilities);
    CHECK(s.process->capabilities->inheritable.empty());
    CHECK(s.process->capabilities->ambient.size() == 3);
    CHECK_NOTHROW(validate(s));
}

TEST_CASE("docker-style config parses every field") {
    Spec s = parse_config(read_test_data("docker-config.json"));
    const Process &p = *s.process;
    CHECK_FALSE(p.terminal);
    REQUIRE(p.consoleSize);
    CHECK(p.consoleSize->height == 24);
    CHECK(p.consoleSize->width == 80);
    CHECK(p.user.uid == 1000);
    CHECK(p.user.umask == 18u);
    CHECK(p.user.additionalGids == std::vector<uint32_t>{10, 2147483647u});
    CHECK(p.user.username == "app");
    CHECK(p.args.size() == 3);
    CHECK(p.commandLine == "server.exe --port 8080");
    CHECK(p.cwd == "/srv");
    CHECK(p.capabilities->bounding.back() == "CAP_CHECKPOINT_RESTORE");
    CHECK(p.capabilities->ambient.empty());  // null
    REQUIRE(p.rlimits.size() == 2);
    CHECK(p.rlimits[1].hard == UINT64_MAX);
    CHECK(p.apparmorProfile == "docker-default");
    CHECK(p.oomScoreAdj == -500);
    CHECK(p.selinuxLabel == "system_u:system_r:container_t:s0:c1,c2");
    REQUIRE(p.scheduler);
    CHECK(p.scheduler->policy == "SCHED_BATCH");
    CHECK(p.scheduler->nice == -5);
    CHECK(p.scheduler->flags.size() == 1);
    CHECK(p.scheduler->period == 3);
    REQUIRE(p.ioPriority);
    CHECK(p.ioPriority->klass == "IOPRIO_CLASS_BE");
    CHECK(p.ioPriority->priority == 4);
    REQUIRE(p.execCPUAffinity);
    CHECK(p.execCPUAffinity->final_ == "2");

    CHECK(s.domainname == "example.org");
    REQUIRE(s.mounts.size() == 3);
    CHECK(s.mounts[2].uidMappings.size() == 1);
    CHECK(s.mounts[2].gidMappings[0].hostID == 100000);
    REQUIRE(s.hooks);
    REQUIRE(s.hooks->prestart.size() == 1);
    CHECK(s.hooks->prestart[0].timeout == 10);
    CHECK(s.hooks->prestart[0].env == std::vector<std::string>{"A=1"});
    CHECK(s.hooks->createRuntime.size() == 1);
    CHECK(s.hooks->createContainer.size() == 1);
    CHECK(s.hooks->startContainer.size() == 1);
    CHECK(s.hooks->poststart.size() == 1);
    CHECK(s.hooks->poststop[0].args.back() == "stop");
    CHECK(s.annotations.at("com.example.empty").empty());

    const Linux &l = *s.linux;
    CHECK(l.sysctl.at("kernel.shm_rmid_forced") == "1");
    const Resources &r = *l.resources;
    REQUIRE(r.devices.size() == 3);
    CHECK(r.devices[1].major == 1);
    CHECK(r.devices[2].minor == std::nullopt);
    CHECK(r.memory->limit == 536870912);
    CHECK(r.memory->swap == -1);
    CHECK(r.memory->swappiness == 60u);
    CHECK(r.memory->disableOOMKiller == false);
    CHECK(r.memory->checkBeforeUpdate == true);
    CHECK(r.cpu->shares == 1024u);
    CHECK(r.cpu->quota == 50000);
    CHECK(r.cpu->burst == 1000u);
    CHECK(r.cpu->cpus == "0-3");
    CHECK(r.cpu->idle == 0);
    CHECK(r.pids->limit == 4096);
    CHECK(r.blockIO->weight == 500);
    CHECK(r.blockIO->weightDevice[0].leafWeight == 200);
    CHECK(r.blockIO->throttleReadBpsDevice[0].rate == 104857600u);
    CHECK(r.blockIO->throttleWriteIOPSDevice[0].rate == 500u);
    CHECK(r.hugepageLimits[0].pageSize == "2MB");
    CHECK(r.network->classID == 1048577u);
    CHECK(r.network->priorities[0].name == "eth0");
    CHECK(r.rdma.at("mlx5_1").hcaObjects == 10000u);
    CHECK(r.unified.at("io.weight") == "default 100");
    CHECK(l.cgroupsPath == "system.slice:docker:abc");
    CHECK(l.namespaces[1].path == "/var/run/netns/abc");
    REQUIRE(l.devices.size() == 2);
    CHECK(l.devices[0].fileMode == 438u);
    CHECK(l.devices[1].uid == std::nullopt);
    CHECK(l.netDevices.at("eth1").name == "ceth1");
    CHECK(l.rootfsPropagation == "rprivate");
    const Seccomp &sc = *l.seccomp;
    CHECK(sc.defaultAction == "SCMP_ACT_ERRNO");
    CHECK(sc.defaultErrnoRet == 1u);
    CHECK(sc.architectures.size() == 3);
    CHECK(sc.flags[0] == "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
    CHECK(sc.listenerPath == "/run/seccomp-agent.sock");
    CHECK(sc.listenerMetadata == "meta");
    REQUIRE(sc.syscalls.size() == 3);
    CHECK(sc.syscalls[1].args[1].value == UINT64_MAX);
    CHECK(sc.syscalls[1].args[1].valueTwo == 8);
    CHECK(sc.syscalls[1].args[1].op == "SCMP_CMP_MASKED_EQ");
    CHECK(sc.syscalls[2].errnoRet == 38u);
    CHECK(l.mountLabel == "system_u:object_r:container_file_t:s0:c1,c2");
    CHECK(l.personality->domain == "LINUX32");
    CHECK(l.intelRdt->closID == "guaranteed");
    CHECK(l.intelRdt->enableCMT);
    CHECK(l.memoryPolicy->nodes == "0-1");
    // A net.* sysctl with a joined netns: runc stats the path (absent here).
    s.linux->sysctl.erase("net.ipv4.ip_unprivileged_port_start");
    CHECK_NOTHROW(validate(s));
}

TEST_CASE("time offsets and optional fields") {
    Spec s = parse_config(config_with(R"("linux":{"namespaces":[{"type":"time"}],
        "timeOffsets":{"monotonic":{"secs":-86400,"nanosecs":5},"boottime":{"secs":1}}})"));
    CHECK(s.linux->timeOffsets.at("monotonic").secs == -86400);
    CHECK(s.linux->timeOffsets.at("monotonic").nanosecs == 5);
    CHECK(s.linux->timeOffsets.at("boottime").secs == 1);
    CHECK_FALSE(s.process);
    CHECK_FALSE(s.root);
    CHECK_FALSE(s.linux->resources);
}

TEST_CASE("unknown fields are ignored") {
    Spec s = parse_config(R"({"ociVersion":"1.2.0","future":{"deep":[1,2,{"x":null}]},
        "process":{"args":["a"],"cwd":"/","novel":true,"user":{"uid":1,"sid":"S-1"}},
        "linux":{"newThing":[],"resources":{"gpu":{"count":1}}}})");
    CHECK(s.process->args[0] == "a");
    CHECK(s.process->user.uid == 1);
    CHECK(s.linux->resources);
}

TEST_CASE("null members count as absent") {
    Spec s = parse_config(R"({"ociVersion":"1","process":null,"mounts":null,"linux":{"seccomp":null,"sysctl":null}})");
    CHECK_FALSE(s.process);
    CHECK(s.mounts.empty());
    CHECK_FALSE(s.linux->seccomp);
}

TEST_CASE("duplicate members: the last wins") {
    Spec s = parse_config(R"({"hostname":"a","hostname":"b"})");
    CHECK(s.hostname == "b");
}

TEST_CASE("malformed JSON gives a one-line parse error") {
    std::string e = parse_error(R"({"ociVersion": "1.0", "process": )");
    CHECK_THAT(e, StartsWith("config.json: parse error: "));
    CHECK_THAT(e, Contains("premature EOF"));
    CHECK(e.find('\n') == std::string::npos);

    e = parse_error(R"({"a" 1})");
    CHECK_THAT(e, StartsWith("config.json: parse error: object key and value must be separated by a colon"));
    CHECK(e.find('\n') == std::string::npos);

    CHECK_THAT(parse_error("{\"a\": x}"), StartsWith("config.json: parse error: lexical error: invalid char"));
    CHECK_THAT(parse_error("{} {}"), Contains("trailing garbage"));
    CHECK_THAT(parse_error("{\"a\":\"\xff\"}"), Contains("invalid bytes in UTF8 string"));
    CHECK_THAT(parse_error("{\"a\":1,}"), StartsWith("config.json: parse error: "));
}

TEST_CASE("empty, null and non-object documents") {
    CHECK(parse_error("") == "config cannot be null");
    CHECK(parse_error(" \n\t") == "config cannot be null");
    CHECK(parse_error("null") == "config cannot be null");
    CHECK(parse_error(" null ") == "config cannot be null");
    CHECK(parse_error("[]") == "config.json: expected object, got array");
    CHECK(parse_error("42") == "config.json: expected object, got number");
}

TEST_CASE("type errors name the JSON path") {
    CHECK(parse_error(R"({"process":{"args":["sh",1]}})") == "config.json: process.args[1]: expected string, got number");
    CHECK(parse_error(R"({"ociVersion":1})") == "config.json: ociVersion: expected string, got number");
    CHECK(parse_error(R"({"process":{"terminal":"yes"}})") ==
          "config.json: process.terminal: expected boolean, got string");
    CHECK(parse_error(R"({"process":{"user":{"uid":"0"}}})") ==
          "config.json: process.user.uid: expected integer, got string");
    CHECK(parse_error(R"({"process":"sh"})") == "config.json: process: expected object, got string");
    CHECK(parse_error(R"({"mounts":{}})") == "config.json: mounts: expected array, got object");
    CHECK(parse_error(R"({"mounts":[{},{"options":[true]}]})") ==
          "config.json: mounts[1].options[0]: expected string, got boolean");
    CHECK(parse_error(R"({"annotations":{"a":1}})") == "config.json: annotations.a: expected string, got number");
    CHECK(parse_error(R"({"linux":{"resources":{"memory":{"limit":[]}}}})") ==
          "config.json: linux.resources.memory.limit: expected integer, got array");
    CHECK(parse_error(R"({"linux":{"seccomp":{"syscalls":[{"names":["a"],"args":[{"op":5}]}]}}})") ==
          "config.json: linux.seccomp.syscalls[0].args[0].op: expected string, got number");
    CHECK(parse_error(R"({"linux":{"timeOffsets":{"boottime":{"secs":"1"}}}})") ==
          "config.json: linux.timeOffsets.boottime.secs: expected integer, got string");
}

TEST_CASE("unknown namespace type is reported while parsing") {
    CHECK(parse_error(R"({"linux":{"namespaces":[{"type":"pid"},{"type":"uts"},{"type":"foo"}]}})") ==
          "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"");
}

TEST_CASE("integer ranges are checked per field") {
    CHECK(parse_error(R"({"process":{"user":{"uid":-1}}})") ==
          "config.json: process.user.uid: value -1 out of range for uint32");
    CHECK(parse_error(R"({"process":{"user":{"gid":4294967296}}})") ==
          "config.json: process.user.gid: value 4294967296 out of range for uint32");
    CHECK(parse_error(R"({"process":{"user":{"uid":1.5}}})") ==
          "config.json: process.user.uid: expected integer, got 1.5");
    CHECK(parse_error(R"({"process":{"user":{"uid":1e3}}})") ==
          "config.json: process.user.uid: expected integer, got 1e3");
    CHECK(parse_error(R"({"process":{"rlimits":[{"type":"RLIMIT_CORE","hard":18446744073709551616}]}})") ==
          "config.json: process.rlimits[0].hard: value 18446744073709551616 out of range for uint64");
    CHECK(parse_error(R"({"linux":{"resources":{"blockIO":{"weight":65536}}}})") ==
          "config.json: linux.resources.blockIO.weight: value 65536 out of range for uint16");
    CHECK(parse_error(R"({"process":{"oomScoreAdj":2147483648}})") ==
          "config.json: process.oomScoreAdj: value 2147483648 out of range for int32");
    CHECK(parse_error(R"({"linux":{"resources":{"pids":{"limit":9223372036854775808}}}})") ==
          "config.json: linux.resources.pids.limit: value 9223372036854775808 out of range for int64");
    // Boundaries that must pass.
    Spec s = parse_config(R"({"process":{"user":{"uid":4294967295},"oomScoreAdj":-1000},
        "linux":{"resources":{"memory":{"limit":-9223372036854775808}}}})");
    CHECK(s.process->user.uid == 4294967295u);
    CHECK(s.linux->resources->memory->limit == INT64_MIN);
}

TEST_CASE("huge input: 100k env entries") {
    std::string json = R"({"ociVersion":"1.2.0","process":{"cwd":"/","args":["sh"],"env":[)";
    const int n = 100000;
    json.reserve(static_cast<size_t>(n) * 24);
    for (int i = 0; i < n; ++i) {
        if (i) json += ',';
        json += "\"VAR_" + std::to_string(i) + "=value\"";
    }
    json += "]}}";
    Spec s = parse_config(json);
    REQUIRE(s.process->env.size() == static_cast<size_t>(n));
    CHECK(s.process->env[99999] == "VAR_99999=value");
    // An error deep in a big array still names the right element.
    json.replace(json.rfind("\"VAR_99999=value\""), 17, "99999");
    CHECK(parse_error(json) == "config.json: process.env[99999]: expected string, got number");
}

TEST_CASE("deep input is rejected without recursion") {
    std::string deep = R"({"x":)" + std::string(10000, '[') + std::string(10000, ']') + "}";
    CHECK(parse_error(deep) == "config.json: parse error: nesting deeper than 256 levels");
    std::string objects;
    for (int i = 0; i < 10000; ++i) objects += "{\"a\":";
    CHECK_THAT(parse_error(objects), Contains("nesting deeper than 256 levels"));
    // Brackets inside strings do not count, and escaped quotes do not end a string.
    std::string in_string = R"({"hostname":")" + std::string(10000, '[') + R"(\"{{"})";
    CHECK(parse_config(in_string).hostname.size() == 10003);
    // Moderate nesting in an ignored field is fine.
    std::string ok = R"({"x":)" + std::string(200, '[') + std::string(200, ']') + "}";
    CHECK_NOTHROW(parse_config(ok));
}

TEST_CASE("load_config reads <bundle>/config.json") {
    TempDir dir;
    SECTION("missing file") {
        CHECK_THROWS_WITH(load_config(dir.path), "JSON specification file config.json not found");
    }
    SECTION("empty file") {
        dir.write("config.json", "");
        CHECK_THROWS_WITH(load_config(dir.path), "config cannot be null");
    }
    SECTION("null") {
        dir.write("config.json", "null\n");
        CHECK_THROWS_WITH(load_config(dir.path), "config cannot be null");
    }
    SECTION("valid") {
        dir.write("config.json", read_test_data("runc-spec.json"));
        Spec s = load_config(dir.path);
        CHECK(s.hostname == "runc");
        CHECK(s.mounts.size() == 7);
    }
    SECTION("malformed") {
        dir.write("config.json", "{\"ociVersion\":");
        CHECK_THROWS_WITH(load_config(dir.path), StartsWith("config.json: parse error: "));
    }
    SECTION("large file read in full") {
        std::string json = R"({"annotations":{"big":")" + std::string(300000, 'x') + R"("}})";
        dir.write("config.json", json);
        CHECK(load_config(dir.path).annotations.at("big").size() == 300000);
    }
}

TEST_CASE("parse_process reads an exec process document") {
    Process p = parse_process(R"({"args":["ls","-l"],"cwd":"/tmp","env":["A=b"],"terminal":true,
        "user":{"uid":5,"gid":6,"additionalGids":[7]},"capabilities":{"bounding":["CAP_KILL"]}})");
    CHECK(p.args == std::vector<std::string>{"ls", "-l"});
    CHECK(p.cwd == "/tmp");
    CHECK(p.terminal);
    CHECK(p.user.additionalGids == std::vector<uint32_t>{7});
    CHECK(p.capabilities->bounding.size() == 1);
    CHECK_THROWS_WITH(parse_process(R"({"args":"ls"})"), "process.json: args: expected array, got string");
    CHECK_THROWS_WITH(parse_process(R"({"cwd":1})", "p.json"), "p.json: cwd: expected string, got number");
    CHECK_THROWS_WITH(parse_process("[1"), StartsWith("process.json: parse error: "));
}

TEST_CASE("parse_resources reads an update document") {
    Resources r = parse_resources(R"({"memory":{"limit":1048576,"swap":-1},"cpu":{"quota":-1,"cpus":"1"},
        "pids":{"limit":10},"blockIO":{"weight":10},"unified":{"cpu.weight":"50"}})");
    CHECK(r.memory->limit == 1048576);
    CHECK(r.memory->swap == -1);
    CHECK_FALSE(r.memory->reservation);
    CHECK(r.cpu->quota == -1);
    CHECK(r.cpu->cpus == "1");
    CHECK_FALSE(r.cpu->shares);
    CHECK(r.pids->limit == 10);
    CHECK(r.blockIO->weight == 10);
    CHECK(r.unified.at("cpu.weight") == "50");
    CHECK_FALSE(r.network);
    CHECK_THROWS_WITH(parse_resources(R"({"cpu":{"shares":-2}})"),
                      "resources.json: cpu.shares: value -2 out of range for uint64");
}
