// kiln restore [options] <container-id>: CRIU (or a handler's snapshot), see
// src/container/restore.cpp. Exits with the container's status.

#include "cli.hpp"
#include "kiln/checkpoint.hpp"

namespace kiln::cli {

namespace {

void add_restore_flags(Options &app, RestoreOptions &o) {
    app.value("--console-socket", o.console_socket,
                   "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of "
                   "the console's pseudoterminal");
    app.value("--image-path", o.image_path, "path to criu image files for restoring");
    app.value("--work-path", o.work_path, "path for saving work files and logs");
    app.flag("--tcp-established", o.tcp_established, "allow open tcp connections");
    app.flag("--ext-unix-sk", o.ext_unix_sk, "allow external unix sockets");
    app.flag("--shell-job", o.shell_job, "allow shell jobs");
    app.flag("--file-locks", o.file_locks, "handle file locks, for safety");
    app.value("--manage-cgroups-mode", o.manage_cgroups_mode, "cgroups mode: soft|full|strict|ignore (default: soft)");
    app.value("--bundle,-b", o.bundle, "path to the root of the bundle directory");
    app.flag("--detach,-d", o.detach, "detach from the container's process");
    app.value("--pid-file", o.pid_file, "specify the file to write the process id to");
    app.flag("--no-subreaper", o.no_subreaper, "disable the use of the subreaper used to reap reparented processes");
    app.flag("--no-pivot", o.no_pivot, "do not use pivot root to jail process inside rootfs");
    app.values("--empty-ns", o.empty_ns, "create a namespace, but don't restore its properties");
    app.flag("--auto-dedup", o.auto_dedup, "enable auto deduplication of memory images");
    app.flag("--lazy-pages", o.lazy_pages, "use userfaultfd to lazily restore memory pages");
    app.value("--lsm-profile", o.lsm_profile, "Specify an LSM profile to be used during restore in the form of TYPE:NAME");
    app.value("--lsm-mount-context", o.lsm_mount_context, "Specify an LSM mount context to be used during restore");
}

}  // namespace

int cmd_restore(Context &c) {
    Options app;
    RestoreOptions o;
    add_restore_flags(app, o);
    auto pos = app.parse(c, {"<container-id>", 1, 1});
    o.id = pos[0];
    o.image_path = absolute_path(o.image_path.empty() ? "checkpoint" : o.image_path);
    if (!o.work_path.empty()) o.work_path = absolute_path(o.work_path);
    o.bundle = absolute_path(o.bundle.empty() ? "." : o.bundle);
    if (!o.pid_file.empty()) o.pid_file = absolute_path(o.pid_file);
    if (!o.console_socket.empty()) o.console_socket = absolute_path(o.console_socket);
    return kiln::restore(c.g, o);
}

}  // namespace kiln::cli
