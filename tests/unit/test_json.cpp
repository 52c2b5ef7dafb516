// json::Writer / json::Doc, and the generated documents (default config,
// features, hook state).
#include <catch2/catch.hpp>

#include <algorithm>

#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "kiln/spec.hpp"
#include "test_data.hpp"

using namespace kiln;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

TEST_CASE("Writer: compact output") {
    json::Writer w;
    w.begin_object();
    w.key("s").string("a/b \"q\" \\ \n\t\x01 é");
    w.key("i").integer(-42);
    w.key("u").uinteger(18446744073709551615ull);
    w.key("t").boolean(true).key("f").boolean(false).key("n").null();
    w.key("a").begin_array().integer(1).begin_array().end_array().begin_object().end_object().end_array();
    w.end_object();
    CHECK(w.str() == R"({"s":"a/b \"q\" \\ \n\t\u0001 é","i":-42,"u":18446744073709551615,"t":true,"f":false,"n":null,"a":[1,[],{}]})");
}

TEST_CASE("Writer: indented output has no trailing newline") {
    json::Writer w("  ");
    w.begin_object().key("id").string("x").key("pids").begin_array().integer(1).integer(2).end_array().end_object();
    CHECK(w.str() == "{\n  \"id\": \"x\",\n  \"pids\": [\n    1,\n    2\n  ]\n}");
}

TEST_CASE("Writer: the indent string may be a temporary") {
    std::string indent = "\t";
    json::Writer w(indent.c_str());
    indent = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
    w.begin_object().key("a").integer(1).end_object();
    CHECK(w.str() == "{\n\t\"a\": 1\n}");
}

TEST_CASE("Writer: misuse throws") {
    json::Writer w;
    w.begin_object();
    CHECK_THROWS_AS(w.integer(1), Error);  // a key is required here
    json::Writer w2;
    CHECK_THROWS_AS(w2.end_array(), Error);
}

TEST_CASE("Doc: lookups with defaults") {
    auto d = json::Doc::parse(R"({"id":"c1","pid":1234,"big":1e400,"created":"t","config":{"bundle":"/b","rootless":true},
        "annotations":{"a":"1","b":2,"c":"3"}})",
                              "state.json");
    CHECK(d.get_string({"id"}) == "c1");
    CHECK(d.get_string({"missing"}, "def") == "def");
    CHECK(d.get_string({"pid"}, "def") == "def");  // wrong type gives the default
    CHECK(d.get_int({"pid"}) == 1234);
    CHECK(d.get_int({"id"}, -1) == -1);
    CHECK(d.get_int({"big"}, 7) == 7);
    CHECK(d.get_string({"config", "bundle"}) == "/b");
    CHECK(d.get_bool({"config", "rootless"}));
    CHECK_FALSE(d.get_bool({"config", "systemd"}));
    CHECK(d.get_bool({"config", "systemd"}, true));
    CHECK(d.has({"config", "bundle"}));
    CHECK_FALSE(d.has({"config", "nope"}));
    CHECK_FALSE(d.has({"id", "sub"}));
    auto m = d.get_string_map({"annotations"});
    REQUIRE(m.size() == 2);
    CHECK(m[0] == std::pair<std::string, std::string>{"a", "1"});
    CHECK(m[1] == std::pair<std::string, std::string>{"c", "3"});
    CHECK(d.get_string_map({"id"}).empty());
    json::Doc moved(std::move(d));
    CHECK(moved.get_string({"id"}) == "c1");
}

TEST_CASE("Doc: parse errors name the file") {
    CHECK_THROWS_WITH(json::Doc::parse("{\"id\":", "state.json"), StartsWith("state.json: parse error: premature EOF"));
    CHECK_THROWS_WITH(json::Doc::parse(std::string(1000, '['), "state.json"),
                      "state.json: parse error: nesting deeper than 256 levels");
}

TEST_CASE("Doc: comments are refused, so they cannot hide brackets from the depth guard") {
    // issue 11 finding 7: "/* ]]]] */" drove the depth count negative and let
    // 2,000,000 levels through to yajl, whose tree free then blew the stack.
    const std::string no_comments = "state.json: parse error: invalid character '/' (JSON has no comments)";
    CHECK_THROWS_WITH(json::Doc::parse(R"({"a": /* x */ 1})", "state.json"), no_comments);
    CHECK_THROWS_WITH(json::Doc::parse("{\"a\": 1} // x", "state.json"), no_comments);
    std::string bomb = "{\"a\": /* " + std::string(1000, ']') + " */ " + std::string(1000, '[') +
                       std::string(1000, ']') + "}";
    CHECK_THROWS_WITH(json::Doc::parse(bomb, "state.json"), no_comments);
    // Inside strings a slash is just a character.
    CHECK(json::Doc::parse(R"({"a": "/* ]]] */"})", "t").get_string({"a"}) == "/* ]]] */");
    CHECK_THROWS_WITH(json::Doc::parse("]" + std::string(300, '['), "state.json"),
                      "state.json: parse error: unexpected ']' with nothing open");
}

TEST_CASE("NUL inside a string is refused with the field's name, not truncated") {
    CHECK_THROWS_WITH(spec::parse_config(R"({"process": {"args": ["sh", "a\u0000b"]}})"),
                      "config.json: process.args[1]: string contains a NUL character (\\u0000)");
    CHECK_THROWS_WITH(spec::parse_config(R"({"process": {"env": ["A=1", "B=x\u0000"], "cwd": "/"}})"),
                      "config.json: process.env[1]: string contains a NUL character (\\u0000)");
    CHECK_THROWS_WITH(spec::parse_config(R"({"mounts": [{"destination": "/a"}, {"type": "bind",
        "destination": "/mnt\u0000/../proc"}]})"),
                      "config.json: mounts[1].destination: string contains a NUL character (\\u0000)");
    CHECK_THROWS_WITH(spec::parse_config(R"({"linux": {"seccomp": {"syscalls": [{}, {}, {"names": ["x\u0000"]}]}}})"),
                      "config.json: linux.seccomp.syscalls[2].names[0]: string contains a NUL character (\\u0000)");
    CHECK_THROWS_WITH(spec::parse_config(R"({"annotations": {"a\u0000b": "x"}})"),
                      "config.json: annotations: member name contains a NUL character (\\u0000)");
    CHECK_THROWS_WITH(spec::parse_process(R"({"args": ["\u0000"]})", "p.json"),
                      "p.json: args[0]: string contains a NUL character (\\u0000)");
    CHECK_THROWS_WITH(json::Doc::parse(R"({"bundle": "/b\u0000x"})", "state.json"),
                      "state.json: bundle: string contains a NUL character (\\u0000)");
    // A raw NUL byte would end yajl's C string: refused, in a string or not.
    CHECK_THROWS_WITH(json::Doc::parse(std::string("{\"a\": \"x\0y\"}", 12), "t"),
                      "t: a: string contains a NUL byte");
    CHECK_THROWS_WITH(json::Doc::parse(std::string("{\"a\": 1}\0{", 10), "t"),
                      "t: parse error: NUL byte in the document");
    // An escaped backslash before "u0000" is no NUL.
    CHECK(json::Doc::parse(R"({"a": "\\u0000"})", "t").get_string({"a"}) == "\\u0000");
    CHECK(json::Doc::parse(R"({"a": "\u0001"})", "t").get_string({"a"}) == "\x01");
}

TEST_CASE("Writer output reads back through Doc") {
    json::Writer w("  ");
    w.begin_object().key("path").string("/run/kiln/\"x\"").key("n").integer(-7).end_object();
    auto d = json::Doc::parse(w.str(), "t");
    CHECK(d.get_string({"path"}) == "/run/kiln/\"x\"");
    CHECK(d.get_int({"n"}) == -7);
}

TEST_CASE("default_config_json matches runc spec") {
    std::string runc = read_test_data("runc-spec.json");
    std::string ours = spec::default_config_json(false, 0, 0);
    // Byte for byte, apart from the spec version we implement.
    std::string expected = runc;
    expected.replace(expected.find("1.0.2-dev"), 9, spec::kSpecVersion);
    CHECK(ours == expected);
    spec::Spec s = spec::parse_config(ours);
    CHECK(s.ociVersion == spec::kSpecVersion);
    CHECK_NOTHROW(spec::validate(s));
}

TEST_CASE("default_config_json rootless matches runc spec --rootless") {
    std::string runc = read_test_data("runc-spec-rootless.json");  // generated as uid 0
    std::string expected = runc;
    expected.replace(expected.find("1.0.2-dev"), 9, spec::kSpecVersion);
    CHECK(spec::default_config_json(true, 0, 0) == expected);

    spec::Spec s = spec::parse_config(spec::default_config_json(true, 1000, 4294967294u));
    CHECK_NOTHROW(spec::validate(s));
    CHECK(s.linux->uidMappings[0].hostID == 1000);
    CHECK(s.linux->gidMappings[0].hostID == 4294967294u);
    CHECK(s.linux->uidMappings[0].containerID == 0);
    CHECK(s.linux->uidMappings[0].size == 1);
    auto has_ns = [&](const char *t) {
        return std::any_of(s.linux->namespaces.begin(), s.linux->namespaces.end(),
                           [&](const spec::Namespace &n) { return n.type == t; });
    };
    CHECK(has_ns("user"));
    CHECK_FALSE(has_ns("network"));
    CHECK_FALSE(s.linux->resources);
}

TEST_CASE("features_json describes the runtime") {
    std::string text = spec::features_json();
    CHECK_THAT(text, StartsWith("{\n    \"ociVersionMin\": \"1.0.0\",\n    \"ociVersionMax\": \"1.3.0\","));
    auto d = json::Doc::parse(text, "features");
    CHECK(d.get_string({"ociVersionMax"}) == spec::kSpecVersion);
    CHECK(d.get_bool({"linux", "cgroup", "v2"}));
    CHECK(d.get_bool({"linux", "cgroup", "v1"}));
    CHECK(d.get_bool({"linux", "cgroup", "systemd"}));
    CHECK(d.get_bool({"linux", "cgroup", "rdma"}));
    CHECK(d.get_bool({"linux", "seccomp", "enabled"}));
    CHECK(d.has({"linux", "apparmor", "enabled"}));
    CHECK_FALSE(d.get_bool({"linux", "selinux", "enabled"}, true));
    CHECK_THAT(d.get_string({"annotations", "io.github.seccomp.libseccomp.version"}), StartsWith("2."));
    CHECK(d.get_string({"annotations", "org.opencontainers.runc.checkpoint.enabled"}) == "false");
    CHECK(d.get_string({"annotations", "io.kiln.checkpoint.enabled"}) == "false");
    CHECK_FALSE(d.has({"annotations", "io.kiln.checkpoint.criu.version"}));
    auto with = json::Doc::parse(spec::features_json("4.2.1"), "features");
    CHECK(with.get_string({"annotations", "org.opencontainers.runc.checkpoint.enabled"}) == "true");
    CHECK(with.get_string({"annotations", "io.kiln.checkpoint.criu.version"}) == "4.2.1");
    CHECK(d.get_string({"annotations", "io.kiln.handlers"}) == "default,km");
    CHECK_THAT(text, Contains("\"CAP_CHECKPOINT_RESTORE\""));
    CHECK_THAT(text, Contains("\"tmpcopyup\""));
    CHECK_THAT(text, Contains("\"SCMP_ACT_KILL_PROCESS\""));
    CHECK_THAT(text, Contains("\"SCMP_CMP_MASKED_EQ\""));
    CHECK_THAT(text, Contains("\"SCMP_ARCH_X86_64\""));
    CHECK_THAT(text, Contains("\"knownFlags\""));
    CHECK_THAT(text, Contains("\"supportedFlags\""));
    CHECK_THAT(text, Contains("\"startContainer\""));
    CHECK_THAT(text, Contains("\"time\""));
    CHECK(text.back() == '}');
}

TEST_CASE("hook_state_json exact text") {
    CHECK(spec::hook_state_json("1.2.0", "c1", "creating", 4242, "/b", {{"k", "v"}, {"a", "\"q\""}}) ==
          R"({"ociVersion":"1.2.0","id":"c1","status":"creating","pid":4242,"bundle":"/b","annotations":{"a":"\"q\"","k":"v"}})");
    CHECK(spec::hook_state_json("1.2.0", "c1", "stopped", 0, "/srv/b/c", {}) ==
          R"({"ociVersion":"1.2.0","id":"c1","status":"stopped","bundle":"/srv/b/c"})");
}
