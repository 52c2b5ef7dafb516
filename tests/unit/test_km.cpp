// SHA-256 against FIPS 180-4 / NIST vectors, and the pure parts of the KM handler.
#include <catch2/catch.hpp>

#include <string>

#include "../../src/handlers/km.hpp"
#include "../../src/util/sha256.hpp"
#include "kiln/error.hpp"

using namespace kiln::handlers::km;
using Strings = std::vector<std::string>;

TEST_CASE("sha256 known vectors", "[sha256]") {
    CHECK(kiln::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(kiln::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(kiln::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(kiln::sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    // one million 'a', fed in uneven pieces (block boundaries)
    kiln::Sha256 h;
    std::string chunk(997, 'a');
    size_t left = 1000000;
    while (left) {
        size_t n = std::min(left, chunk.size());
        h.update(chunk.data(), n);
        left -= n;
    }
    CHECK(h.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // 55, 56, 63, 64 bytes: the padding edge cases
    CHECK(kiln::sha256_hex(std::string(55, 'a')) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    CHECK(kiln::sha256_hex(std::string(56, 'a')) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    CHECK(kiln::sha256_hex(std::string(64, 'a')) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST_CASE("km argv rewrite", "[km]") {
    CHECK(km_argv("/bin/sh", {"sh", "-c", "x"}) == Strings{kKmPath, "/bin/sh", "-c", "x"});
    // already km: left alone
    CHECK(km_argv(kKmPath, {"km", "/app"}) == Strings{"km", "/app"});
    // docker --init: the shim runs under km, its child is not wrapped twice
    CHECK(km_argv("/sbin/docker-init", {"/sbin/docker-init", "--", kKmPath, "/app", "a"}) ==
          Strings{kKmPath, "/sbin/docker-init", "--", "/app", "a"});
    CHECK(km_argv("/dev/init", {"/dev/init", "--", "/bin/sh"}) == Strings{kKmPath, "/dev/init", "--", "/bin/sh"});
    // not a shim: a km argument is the payload's business
    CHECK(km_argv("/bin/x", {"x", "--", kKmPath}) == Strings{kKmPath, "/bin/x", "--", kKmPath});
}

TEST_CASE("km control variables are scrubbed unless allowed", "[km]") {
    Strings env{"PATH=/bin", "KM_EXEC_VMFDS=3", "KM_VERBOSE=.*", "KM_LOGTO=/x", "KM_MGTDIR=/d", "KM_OTHER=1",
                "SNAP_LISTEN_TIMEOUT=9", "KM_EXEC_VERS=1"};
    Strings a = env;
    scrub_env(a, {});
    CHECK(a == Strings{"PATH=/bin", "KM_OTHER=1"});
    Strings b = env;
    scrub_env(b, {"KM_VERBOSE", "KM_EXEC_*"});
    CHECK(b == Strings{"PATH=/bin", "KM_EXEC_VMFDS=3", "KM_VERBOSE=.*", "KM_OTHER=1", "KM_EXEC_VERS=1"});
}

TEST_CASE("km config parsing", "[km]") {
    auto c = parse_config("{}", "t.json");
    CHECK(c.km == kKmPath);
    CHECK(c.devices == Strings{"/dev/kvm", "/dev/kkm"});
    CHECK_FALSE(c.refuse_unlisted_exec);
    std::string sha(64, 'a');
    c = parse_config(R"J({"km": "/x/km", "devices": ["/tmp/kvm"], "exec_unlisted": "refuse", "allow_env": ["KM_VERBOSE"],
        "native_exec": [{"match": "/bin/(ls|cat)", "path": "/bin/busybox", "sha256": ")J" + sha + R"J("}]})J",
                     "t.json");
    CHECK(c.km == "/x/km");
    CHECK(c.devices == Strings{"/tmp/kvm"});
    CHECK(c.refuse_unlisted_exec);
    CHECK(c.allow_env == Strings{"KM_VERBOSE"});
    REQUIRE(c.native.size() == 1);
    // anchored: whole path only
    CHECK(find_native(c, "/bin/ls") == &c.native[0]);
    CHECK(find_native(c, "/bin/cat") == &c.native[0]);
    CHECK(find_native(c, "/tmp/bin/ls") == nullptr);
    CHECK(find_native(c, "/bin/lsx") == nullptr);
    CHECK_THROWS_WITH(parse_config(R"J({"km": "rel"})J", "t.json"), Catch::Contains("km config t.json: km:"));
    CHECK_THROWS_WITH(parse_config(R"J({"exec_unlisted": "maybe"})J", "t.json"), Catch::Contains("exec_unlisted"));
    CHECK_THROWS_WITH(parse_config(R"J({"km_sha256": "xyz"})J", "t.json"), Catch::Contains("km_sha256"));
    CHECK_THROWS_WITH(parse_config(R"J({"native_exec": [{"match": "(", "path": "/b", "sha256": ")J" + sha + R"J("}]})J", "t.json"),
                      Catch::Contains("native_exec[0].match"));
}

TEST_CASE("km config booleans are JSON booleans", "[km]") {
    CHECK(parse_config(R"J({"all_containers": true, "preload": true, "snapshots": false})J", "t.json").all_containers);
    CHECK(parse_config(R"J({"preload": true})J", "t.json").preload);
    CHECK_FALSE(parse_config(R"J({"snapshots": false})J", "t.json").snapshots);
    for (const char *key : {"all_containers", "preload", "snapshots"})
        for (const char *value : {"\"true\"", "1", "null", "[]"})
            CHECK_THROWS_WITH(parse_config("{\"" + std::string(key) + "\": " + value + "}", "t.json"),
                              "km config t.json: " + std::string(key) + ": must be true or false");
}

TEST_CASE("krun allowlist file", "[km]") {
    std::string sha(64, 'b');
    auto tools = parse_krun_allowlist("# krun's exec allowlist\n\n/bin/ping|/usr/bin/ping:/bin/ping:" + sha +
                                          "\n/bin/(ls|cat):/bin/busybox:" + sha,
                                      "/k/config");
    REQUIRE(tools.size() == 2);
    CHECK(tools[0].match == "/bin/ping|/usr/bin/ping");
    CHECK(tools[0].path == "/bin/ping");
    CHECK(tools[1].sha256 == sha);
    Config c;
    c.native = std::move(tools);
    CHECK(find_native(c, "/usr/bin/ping") == &c.native[0]);
    CHECK(find_native(c, "/bin/cat") == &c.native[1]);
    CHECK(find_native(c, "/x/bin/cat") == nullptr);  // anchored, as native_exec
    CHECK_THROWS_WITH(parse_krun_allowlist("# c\n/bin/a:/bin/a\n", "/k/config"),
                      "krun allowlist /k/config:2: want regex:path:sha256, got \"/bin/a:/bin/a\"");
    CHECK_THROWS_WITH(parse_krun_allowlist("/bin/a:bin/a:" + sha, "/k/config"), Catch::Contains("/k/config:1: needs"));
    CHECK_THROWS_WITH(parse_krun_allowlist("/bin/a:/bin/a:ABC", "/k/config"), Catch::Contains("64 lowercase hex"));
    CHECK_THROWS_WITH(parse_krun_allowlist("(:/bin/a:" + sha, "/k/config"), Catch::Contains("/k/config:1: bad regular expression"));
    CHECK(parse_config("{}", "t.json").krun_allowlist == kKrunAllowlist);
    CHECK(parse_config(R"({"krun_config": ""})", "t.json").krun_allowlist.empty());
    CHECK_THROWS_WITH(parse_config(R"({"krun_config": "rel"})", "t.json"), Catch::Contains("krun_config"));
}
