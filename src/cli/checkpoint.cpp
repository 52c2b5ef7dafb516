// kiln checkpoint [options] <container-id>: CRIU (or a handler's snapshot), see
// src/container/checkpoint.cpp.

#include "cli.hpp"
#include "kiln/checkpoint.hpp"

namespace kiln::cli {

namespace {

void add_checkpoint_flags(Options &app, CheckpointOptions &o) {
    app.value("--image-path", o.image_path, "path for saving criu image files");
    app.value("--work-path", o.work_path, "path for saving work files and logs");
    app.value("--parent-path", o.parent_path, "path for previous criu image files in pre-dump");
    app.flag("--leave-running", o.leave_running, "leave the process running after checkpointing");
    app.flag("--tcp-established", o.tcp_established, "allow open tcp connections");
    app.flag("--tcp-skip-in-flight", o.tcp_skip_in_flight, "skip in-flight tcp connections");
    app.flag("--link-remap", o.link_remap, "allow one to link unlinked files back when possible");
    app.flag("--ext-unix-sk", o.ext_unix_sk, "allow external unix sockets");
    app.flag("--shell-job", o.shell_job, "allow shell jobs");
    app.flag("--lazy-pages", o.lazy_pages, "use userfaultfd to lazily restore memory pages");
    app.value("--status-fd", o.status_fd, "criu writes \\0 to this FD once lazy-pages is ready");
    app.value("--page-server", o.page_server, "ADDRESS:PORT of the page server");
    app.flag("--file-locks", o.file_locks, "handle file locks, for safety");
    app.flag("--pre-dump", o.pre_dump, "dump container's memory information only, leave the container running after this");
    app.value("--manage-cgroups-mode", o.manage_cgroups_mode, "cgroups mode: soft|full|strict|ignore (default: soft)");
    app.values("--empty-ns", o.empty_ns, "create a namespace, but don't restore its properties");
    app.flag("--auto-dedup", o.auto_dedup, "enable auto deduplication of memory images");
}

}  // namespace

int cmd_checkpoint(Context &c) {
    Options app;
    CheckpointOptions o;
    add_checkpoint_flags(app, o);
    auto pos = app.parse(c, {"<container-id>", 1, 1});
    o.id = pos[0];
    o.image_path = absolute_path(o.image_path.empty() ? "checkpoint" : o.image_path);
    if (!o.work_path.empty()) o.work_path = absolute_path(o.work_path);
    kiln::checkpoint(c.g, o);
    return 0;
}

}  // namespace kiln::cli
