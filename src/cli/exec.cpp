// kiln exec [options] <container-id> <command> [args...]  (parsed; not implemented yet)

#include "cli.hpp"

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
    app.parse(c, {"<container-id> <command> [command options]  || -p process.json <container-id>", 1, -1, true});
    not_implemented(c);
}

}  // namespace kiln::cli
