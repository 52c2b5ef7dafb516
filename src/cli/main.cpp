// kiln: global options, command dispatch, top-level error reporting.
// Only the CLI11 App of the command being run is ever built.
#include <seccomp.h>

#include <cstring>
#include <string>
#include <vector>

#include "cli.hpp"
#include "handlers/handler.hpp"
#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "kiln/spec.hpp"
#include "linux/sealed.hpp"
#include "version.h"

namespace kiln::cli {
namespace {

// version.h.in may not substitute the project version; fall back to it here.
constexpr const char *kVersion = KILN_VERSION[0] == '@' ? "0.1.0" : KILN_VERSION;

struct Entry {
    const char *name;
    const char *summary;
    int (*fn)(Context &);
};

constexpr Entry kCommands[] = {
    {"checkpoint", "checkpoint a running container", cmd_checkpoint},
    {"create", "create a container", cmd_create},
    {"delete", "delete any resources held by the container often used with detached container", cmd_delete},
    {"events", "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
     cmd_events},
    {"exec", "execute new process inside the container", cmd_exec},
    {"features", "show the enabled features", cmd_features},
    {"kill", "kill sends the specified signal (default: SIGTERM) to the container's init process", cmd_kill},
    {"list", "lists containers started by kiln with the given root", cmd_list},
    {"pause", "pause suspends all processes inside the container", cmd_pause},
    {"ps", "ps displays the processes running inside a container", cmd_ps},
    {"restore", "restore a container from a previous checkpoint", cmd_restore},
    {"resume", "resumes all processes that have been previously paused", cmd_resume},
    {"run", "create and run a container", cmd_run},
    {"spec", "create a new specification file", cmd_spec},
    {"start", "executes the user defined process in a created container", cmd_start},
    {"state", "output the state of a container", cmd_state},
    {"update", "update container resource constraints", cmd_update},
};

const Entry *find_command(const std::string &name) {
    for (const Entry &e : kCommands)
        if (name == e.name) return &e;
    return nullptr;
}

std::string version_text(const Globals &g) {
    const scmp_version *v = seccomp_version();
    std::string s = std::string("kiln version ") + kVersion + "\ncommit: " + KILN_COMMIT + "\nspec: " +
                    spec::kSpecVersion + "\nlibseccomp: ";
    if (v) s += std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
    s += "\nhandlers: " + handlers::names(", ");
    if (!g.handler.empty()) s += " (this invocation: " + g.handler + ")";
    return s + "\n";
}

// The handlers' global flags, in the help's two columns.
std::string handler_flags_help() {
    std::string s;
    for (const handlers::GlobalFlag *f : handlers::global_flags()) {
        std::string flag = "--" + std::string(f->name) + (f->boolean ? "" : " value");
        s += "   " + flag + std::string(flag.size() < 20 ? 20 - flag.size() : 1, ' ') + f->help + "\n";
    }
    return s;
}

std::string app_help() {
    std::string s =
        "NAME:\n"
        "   kiln - Open Container Initiative runtime\n\n"
        "kiln is a command line client for running applications packaged according to\n"
        "the Open Container Initiative (OCI) format. It is a drop-in replacement for runc.\n\n"
        "USAGE:\n"
        "   kiln [global options] command [command options] [arguments...]\n\n"
        "VERSION:\n   " +
        std::string(kVersion) + "\n\nCOMMANDS:\n";
    for (const Entry &e : kCommands) s += "   " + std::string(e.name) + std::string(12 - strlen(e.name), ' ') + e.summary + "\n";
    s += "   help, h     Shows a list of commands or help for one command\n";
    return s +
           "\nGLOBAL OPTIONS:\n"
           "   --debug             enable debug logging\n"
           "   --log value         set the log file to write kiln logs to (default is '/dev/stderr')\n"
           "   --log-format value  set the log format ('text' (default), or 'json') (default: \"text\")\n"
           "   --root value        root directory for storage of container state (this should be located in "
           "tmpfs) (default: \"/run/kiln\")\n"
           "   --criu value        path to the criu binary used for checkpoint and restore (default: \"criu\")\n"
           "   --systemd-cgroup    enable systemd cgroup support, expects cgroupsPath to be of form "
           "\"slice:prefix:name\" for e.g. \"system.slice:kiln:434234\"\n"
           "   --rootless value    ignore cgroup permission errors ('true', 'false', or 'auto') (default: \"auto\")\n"
           + handler_flags_help() +
           "   --help, -h          show help\n"
           "   --version, -v       print the version\n";
}

int unknown_command(const std::string &name) {
    log::fatal("No help topic for '" + name + "'");
    return 3;
}

int help_command(GlobalArgs &ga) {
    if (ga.rest.empty()) {
        kiln::cli::out(app_help());
        return 0;
    }
    const Entry *e = find_command(ga.rest[0]);
    if (!e) return unknown_command(ga.rest[0]);
    Context c{ga.g, e->name, e->summary, {"--help"}};
    return e->fn(c);
}

int dispatch(GlobalArgs &ga) {
    if (ga.command == "help" || ga.command == "h") return help_command(ga);
    const Entry *e = find_command(ga.command);
    if (!e) return unknown_command(ga.command);
    check_globals(ga);
    Context c{ga.g, e->name, e->summary, std::move(ga.rest)};
    return e->fn(c);
}

// argv[0]'s file name: a handler may take it as its trigger (a link named after it).
std::string_view program_name(const char *argv0) {
    const char *slash = std::strrchr(argv0, '/');
    return slash ? slash + 1 : argv0;
}

// The commands whose processes enter a container (see linux/sealed.hpp).
bool enters_container(const std::string &command) {
    return command == "create" || command == "run" || command == "exec" || command == "restore";
}

int run_main(const std::vector<std::string> &args, char **argv) {
    const char *argv0 = argv[0] ? argv[0] : "kiln";
    GlobalArgs ga;
    try {
        ga = parse_globals(args);
        handlers::apply_alias(program_name(argv0), ga.g);
    } catch (const UsageError &e) {
        out("Incorrect Usage. " + std::string(e.what()) + "\n\n" + app_help());
        log::error(e.what());
        return 1;
    }
    try {
        log::init(ga.log_path, ga.log_format, ga.g.debug);
        if (ga.version) {
            out(version_text(ga.g));
            return 0;
        }
        if (ga.help || ga.command.empty()) {
            out(app_help());
            return 0;
        }
        // CVE-2019-5736 class: no process that enters the container may run
        // from the host's kiln file, which a ptrace-capable container process
        // could open through /proc/<pid>/exe and rewrite once it is no longer
        // busy. Run from a read-only view of it instead (one re-exec): exec
        // and restore at once, create and run once the config says a
        // container process could see the init (sealed.hpp: keep_argv).
        if (enters_container(ga.command) && argv[0]) {
            if (ga.command == "create" || ga.command == "run")
                sealed::keep_argv(argv);
            else
                sealed::reexec_self(argv);
        }
        return dispatch(ga);
    } catch (const Exit &e) {
        return e.code;
    } catch (const std::exception &e) {
        log::fatal(e.what());
        return 1;
    }
}

}  // namespace
}  // namespace kiln::cli

int main(int argc, char **argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    static char kiln_name[] = "kiln";
    static char *no_args[] = {kiln_name, nullptr};
    return kiln::cli::run_main(args, argc > 0 ? argv : no_args);
}
