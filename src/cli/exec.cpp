// kiln exec [options] <container-id> <command> [args...]  |  kiln exec -p process.json <container-id>

#include "cli.hpp"
#include "kiln/error.hpp"
#include "kiln/log.hpp"

namespace kiln::cli {

namespace {

struct ExecOptions {
    std::string console_socket, pidfd_socket, cwd, user, process, pid_file, process_label, apparmor;
    std::vector<std::string> env, additional_gids, caps, cgroups;
    bool tty = false, detach = false, no_new_privs = false, ignore_paused = false;
    unsigned preserve_fds = 0;
};

void add_exec_flags(Options &app, ExecOptions &o) {
    app.value("--console-socket", o.console_socket,
                   "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of "
                   "the console's pseudoterminal");
    app.value("--pidfd-socket", o.pidfd_socket,
                   "path to an AF_UNIX socket which will receive a file descriptor referencing the exec process");
    app.value("--cwd", o.cwd, "current working directory in the container");
    app.values("--env,-e", o.env, "set environment variables");
    app.flag("--tty,-t", o.tty, "allocate a pseudo-TTY");
    app.value("--user,-u", o.user, "UID (format: <uid>[:<gid>])");
    app.values("--additional-gids,-g", o.additional_gids, "additional gids");
    app.value("--process,-p", o.process, "path to the process.json");
    app.flag("--detach,-d", o.detach, "detach from the container's process");
    app.value("--pid-file", o.pid_file, "specify the file to write the process id to");
    app.value("--process-label", o.process_label, "set the asm process label for the process commonly used with selinux");
    app.value("--apparmor", o.apparmor, "set the apparmor profile for the process");
    app.flag("--no-new-privs", o.no_new_privs, "set the no new privileges value for the process");
    app.values("--cap,-c", o.caps, "add a capability to the bounding set for the process");
    app.value("--preserve-fds", o.preserve_fds,
                   "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)");
    app.values("--cgroup", o.cgroups, "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.");
    app.flag("--ignore-paused", o.ignore_paused, "allow exec in a paused container");
}

}  // namespace

int cmd_exec(Context &c) {
    Options app;
    ExecOptions o;
    add_exec_flags(app, o);
    auto pos = app.parse(c, {"<container-id> <command> [command options]  || -p process.json <container-id>", 1, -1, true});
    kiln::ExecOptions x;
    x.id = pos[0];
    x.args.assign(pos.begin() + 1, pos.end());
    x.process_file = o.process.empty() ? "" : absolute_path(o.process);
    x.cwd = o.cwd;
    x.env = o.env;
    x.user = o.user;
    x.additional_gids = o.additional_gids;
    x.caps = o.caps;
    x.tty = o.tty;
    x.detach = o.detach;
    x.no_new_privs = o.no_new_privs;
    x.ignore_paused = o.ignore_paused;
    x.pid_file = o.pid_file.empty() ? "" : absolute_path(o.pid_file);
    x.preserve_fds = o.preserve_fds;
    x.cgroups = o.cgroups;
    x.apparmor = o.apparmor;
    x.process_label = o.process_label;
    x.pidfd_socket = o.pidfd_socket.empty() ? "" : absolute_path(o.pidfd_socket);
    x.console_socket = o.console_socket.empty() ? "" : absolute_path(o.console_socket);
    // runc: a process that could not be started is exit status 255.
    try {
        return kiln::exec(c.g, x);
    } catch (const kiln::Error &e) {
        kiln::log::fatal(std::string("exec failed: ") + e.what());
        return 255;
    }
}

}  // namespace kiln::cli
