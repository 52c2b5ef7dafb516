// Command-line helpers: Go flag syntax rewriting, globals, paths, quoting.
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "../../src/cli/cli.hpp"
#include "kiln/error.hpp"

using namespace kiln::cli;
using Strings = std::vector<std::string>;

namespace {

FlagInfo test_flags(std::string_view n) {
    if (n == "debug" || n == "d" || n == "detach") return {FlagKind::boolean, n == "debug" ? "debug" : "detach"};
    if (n == "bundle" || n == "b") return {FlagKind::value, "bundle"};
    if (n == "env" || n == "e") return {FlagKind::value, "env"};
    return {};
}

}  // namespace

TEST_CASE("single and double dash long options are the same", "[cli]") {
    SplitArgs s = normalize({"-debug", "--detach", "-bundle", "/x", "id"}, test_flags, false);
    CHECK(s.flags == Strings{"--debug=true", "--detach=true", "--bundle=/x"});
    CHECK(s.positionals == Strings{"id"});
}

TEST_CASE("values with = and as the next argument", "[cli]") {
    SplitArgs s = normalize({"--bundle=/a=b", "-b", "-dash", "-e=A=1,2"}, test_flags, false);
    CHECK(s.flags == Strings{"--bundle=/a=b", "--bundle=-dash", "--env=A=1,2"});
}

TEST_CASE("booleans accept =true|false like strconv.ParseBool", "[cli]") {
    SplitArgs s = normalize({"--debug=false", "-d=1", "--detach=F"}, test_flags, false);
    CHECK(s.flags == Strings{"--debug=false", "--detach=true", "--detach=false"});
    CHECK_THROWS_WITH(normalize({"--debug=maybe"}, test_flags, false),
                      "invalid boolean value \"maybe\" for -debug: parse error");
}

TEST_CASE("flags after positionals unless stopping at the first one", "[cli]") {
    SplitArgs s = normalize({"id", "-d"}, test_flags, false);
    CHECK(s.flags == Strings{"--detach=true"});
    CHECK(s.positionals == Strings{"id"});
    s = normalize({"-d", "id", "ls", "-la", "--debug"}, test_flags, true);
    CHECK(s.flags == Strings{"--detach=true"});
    CHECK(s.positionals == Strings{"id", "ls", "-la", "--debug"});
}

TEST_CASE("double dash ends flags; a lone dash is positional", "[cli]") {
    SplitArgs s = normalize({"-d", "--", "-x", "-"}, test_flags, false);
    CHECK(s.positionals == Strings{"-x", "-"});
    s = normalize({"-"}, test_flags, false);
    CHECK(s.positionals == Strings{"-"});
}

TEST_CASE("flag errors use Go's wording", "[cli]") {
    CHECK_THROWS_WITH(normalize({"--bogus"}, test_flags, false), "flag provided but not defined: -bogus");
    CHECK_THROWS_WITH(normalize({"-x=1"}, test_flags, false), "flag provided but not defined: -x");
    CHECK_THROWS_WITH(normalize({"--bundle"}, test_flags, false), "flag needs an argument: -bundle");
    CHECK_THROWS_WITH(normalize({"---d"}, test_flags, false), "bad flag syntax: ---d");
}

TEST_CASE("help flags are noticed", "[cli]") {
    CHECK(normalize({"-h"}, test_flags, false).help);
    CHECK(normalize({"--help"}, test_flags, false).help);
    CHECK_FALSE(normalize({"id", "-h"}, test_flags, true).help);
}

TEST_CASE("parse_bool", "[cli]") {
    bool b = false;
    CHECK((parse_bool("true", b) && b));
    CHECK((parse_bool("0", b) && !b));
    CHECK_FALSE(parse_bool("yes", b));
}

TEST_CASE("clean_path follows filepath.Clean", "[cli]") {
    CHECK(clean_path("") == ".");
    CHECK(clean_path("//") == "/");
    CHECK(clean_path("/a//b/./c/..") == "/a/b");
    CHECK(clean_path("/../x") == "/x");
    CHECK(clean_path("a/../..") == "..");
    CHECK(clean_path("../../a/") == "../../a");
    CHECK(absolute_path("p.pid", "/tmp/kt") == "/tmp/kt/p.pid");
    CHECK(absolute_path("/x/", "/tmp") == "/x");
}

TEST_CASE("global options stop at the command name", "[cli]") {
    GlobalArgs g = parse_globals({"-debug", "--root", "/r/", "--log-format=json", "--criu", "c", "state", "-x"});
    CHECK(g.g.debug);
    CHECK(g.log_format == "json");
    CHECK(g.command == "state");
    CHECK(g.rest == Strings{"-x"});
    check_globals(g);
    CHECK(g.g.root == "/r");
    CHECK(g.g.rootless == "auto");
}

// runc's rule: root in the initial user namespace keeps /run/kiln even with
// $XDG_RUNTIME_DIR set (sudo keeps the caller's); a user gets $XDG/kiln.
TEST_CASE("the default state root", "[cli]") {
    const char *old = std::getenv("XDG_RUNTIME_DIR");
    std::string saved = old ? old : "";
    // A directory of our own: as a user, check_globals makes $XDG/kiln.
    char xdg[] = "/tmp/kiln-unit-xdg-XXXXXX";
    REQUIRE(::mkdtemp(xdg) != nullptr);
    ::setenv("XDG_RUNTIME_DIR", xdg, 1);
    GlobalArgs g = parse_globals({"list"});
    check_globals(g);
    if (::geteuid() == 0) CHECK(g.g.root == "/run/kiln");
    else CHECK(g.g.root == std::string(xdg) + "/kiln");
    g = parse_globals({"--root", "/r", "list"});
    check_globals(g);
    CHECK(g.g.root == "/r");
    if (old) ::setenv("XDG_RUNTIME_DIR", saved.c_str(), 1); else ::unsetenv("XDG_RUNTIME_DIR");
    ::rmdir((std::string(xdg) + "/kiln").c_str());
    ::rmdir(xdg);
}

TEST_CASE("global option values are checked", "[cli]") {
    GlobalArgs g = parse_globals({"--root", "//", "list"});
    CHECK_THROWS_WITH(check_globals(g), "Option --root argument should not be set to /");
    g = parse_globals({"--rootless=TRUE", "list"});
    check_globals(g);
    CHECK(g.g.rootless == "true");
    g = parse_globals({"--rootless", "sometimes", "list"});
    CHECK_THROWS_AS(check_globals(g), kiln::Error);
    CHECK_THROWS_AS(parse_globals({"-x", "list"}), UsageError);
    CHECK(parse_globals({"-v"}).version);
}

TEST_CASE("JSON and Go quoting", "[cli]") {
    CHECK(kiln::log::json_quote("a\"b\\c\n<&>") == "\"a\\\"b\\\\c\\n\\u003c\\u0026\\u003e\"");
    CHECK(kiln::log::json_quote(std::string("\x01\xff", 2)) == "\"\\u0001\\ufffd\"");
    CHECK(kiln::log::go_quote("say \"hi\"\n\t\x7f") == "\"say \\\"hi\\\"\\n\\t\\x7f\"");
    CHECK(kiln::log::go_quote("h\xc3\xa9") == "\"h\xc3\xa9\"");
}
