// Shared pieces of the kiln command line.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/container.hpp"

namespace CLI {
class App;
}

namespace kiln::log {
// Defined in src/log.cpp: Go encoding/json string quoting and strconv.Quote.
std::string json_quote(std::string_view s);
std::string go_quote(std::string_view s);
}  // namespace kiln::log

namespace kiln::cli {

// ---- argv.cpp: Go-style flag syntax (no CLI11 here; unit-tested) ----

// A command-line mistake: "Incorrect Usage: <msg>" + help on stdout, exit 1.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class FlagKind { unknown, boolean, value };

struct FlagInfo {
    FlagKind kind = FlagKind::unknown;
    std::string name;  // canonical long name, without dashes
};

// Maps a flag name as written (no dashes, before any '=') to what it is.
using FlagLookup = std::function<FlagInfo(std::string_view)>;

struct SplitArgs {
    std::vector<std::string> flags;        // canonical "--name" or "--name=value"
    std::vector<std::string> positionals;  // in order
    bool help = false;                     // -h/--help seen
};

// Rewrites Go flag syntax (-name, --name, -name=v, -name v, bool=true|false)
// into canonical "--name[=value]" tokens. Booleans come out as --name=true|false.
// stop_at_positional: everything from the first positional on is positional
// (runc's kill/exec/ps, and the global options before the command name).
// Throws UsageError with Go's wording.
SplitArgs normalize(const std::vector<std::string> &args, const FlagLookup &lookup, bool stop_at_positional);

// strconv.ParseBool.
bool parse_bool(std::string_view s, bool &out);
// filepath.Clean.
std::string clean_path(std::string_view p);
// filepath.Abs against base (the current directory when base is empty).
std::string absolute_path(std::string_view p, std::string_view base = {});

struct GlobalArgs {
    kiln::Globals g;
    std::string log_path;
    std::string log_format;
    bool version = false;
    bool help = false;
    std::string command;             // "" when none given
    std::vector<std::string> rest;  // arguments after the command name
};

// Parses the options before the command name. Throws UsageError for unknown
// flags. g.root is left empty when --root was not given.
GlobalArgs parse_globals(const std::vector<std::string> &args);
// Fills in the default root, makes it absolute and checks --root and
// --rootless. Throws kiln::Error ("Option --root argument should not be set to /").
void check_globals(GlobalArgs &g);

// ---- command.cpp: per-command parsing on top of CLI11 ----

struct Context {
    kiln::Globals g;
    std::string name;               // command name
    const char *summary = "";       // one line, for help
    std::vector<std::string> args;  // after the command name
};

struct Usage {
    const char *args;  // e.g. "<container-id>"
    int min_args;
    int max_args;  // -1: no maximum
    bool stop_at_positional = false;
};

// Thrown to leave main() with an exit code (help printed, usage error, ...).
struct Exit {
    int code;
};

// The options of one command: a thin wrapper over a CLI11 App, so that only
// command.cpp includes CLI11. Built only for the command being run.
class Options {
public:
    Options();
    ~Options();
    Options(const Options &) = delete;
    Options &operator=(const Options &) = delete;

    // names: "--long" or "--long,-s".
    void flag(const char *names, bool &v, const char *help);
    void value(const char *names, std::string &v, const char *help);
    void value(const char *names, unsigned &v, const char *help);
    void value(const char *names, int &v, const char *help);
    void value(const char *names, long long &v, const char *help);
    void values(const char *names, std::vector<std::string> &v, const char *help);  // repeatable

    // Parses c.args into the registered variables: prints help (Exit 0),
    // reports usage errors (Exit 1). Returns the positional arguments.
    std::vector<std::string> parse(const Context &c, const Usage &u);
    // Help text of the command.
    std::string help(const Context &c, const Usage &u);

private:
    // The CLI11 App is built only when a flag or --help has to be parsed: CLI11's first option
    // sets up std::locale (~0.08 ms and 25 page faults), which `kiln state ID` never needs.
    enum class Kind { flag, text, uint, sint, llong, texts };
    struct Registration {
        const char *names;
        Kind kind;
        void *target;
        const char *help;
    };
    CLI::App &app();
    std::vector<Registration> regs_;
    std::unique_ptr<CLI::App> app_;
};

// Options of a command that is parsed but not implemented yet.
[[noreturn]] void not_implemented(const Context &c);

void out(std::string_view s);  // stdout, unbuffered

// ---- one function per command ----
int cmd_checkpoint(Context &c);
int cmd_create(Context &c);
int cmd_delete(Context &c);
int cmd_events(Context &c);
int cmd_exec(Context &c);
int cmd_features(Context &c);
int cmd_kill(Context &c);
int cmd_list(Context &c);
int cmd_pause(Context &c);
int cmd_ps(Context &c);
int cmd_restore(Context &c);
int cmd_resume(Context &c);
int cmd_run(Context &c);
int cmd_spec(Context &c);
int cmd_start(Context &c);
int cmd_state(Context &c);
int cmd_update(Context &c);

// create.cpp: the flags create and run share, and option fixing-up.
void add_create_flags(Options &app, kiln::CreateOptions &o);
void finish_create_options(kiln::CreateOptions &o, const std::string &id);

// state.cpp: one state object as Go's json.Marshal(Indent) writes it.
std::string state_json(const kiln::ContainerState &s, bool pretty, bool with_owner);

}  // namespace kiln::cli
