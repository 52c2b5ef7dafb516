// kiln create [options] <container-id>

#include "cli.hpp"
#include "kiln/error.hpp"

namespace kiln::cli {

void add_create_flags(Options &app, CreateOptions &o) {
    app.value("--bundle,-b", o.bundle,
                   "path to the root of the bundle directory, defaults to the current directory");
    app.value("--console-socket", o.console_socket,
                   "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of "
                   "the console's pseudoterminal");
    app.value("--pidfd-socket", o.pidfd_socket,
                   "path to an AF_UNIX socket which will receive a file descriptor referencing the init process");
    app.value("--pid-file", o.pid_file, "specify the file to write the process id to");
    app.flag("--no-pivot", o.no_pivot,
                 "do not use pivot root to jail process inside rootfs. This should be used whenever the rootfs is "
                 "on top of a ramdisk");
    app.flag("--no-new-keyring", o.no_new_keyring,
                 "do not create a new session keyring for the container. This will cause the container to inherit "
                 "the calling processes session key");
    app.value("--preserve-fds", o.preserve_fds,
                   "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)");
}

// Paths as runc resolves them: the bundle and --pid-file against the caller's
// directory, the sockets against the bundle (runc dials them after chdir).
void finish_create_options(CreateOptions &o, const std::string &id) {
    o.id = id;
    o.bundle = absolute_path(o.bundle.empty() ? "." : o.bundle);
    if (!o.pid_file.empty()) o.pid_file = absolute_path(o.pid_file);
    if (!o.console_socket.empty()) o.console_socket = absolute_path(o.console_socket, o.bundle);
    if (!o.pidfd_socket.empty()) o.pidfd_socket = absolute_path(o.pidfd_socket, o.bundle);
}

int cmd_create(Context &c) {
    Options app;
    CreateOptions o;
    add_create_flags(app, o);
    auto pos = app.parse(c, {"<container-id>", 1, 1});
    try {
        finish_create_options(o, pos[0]);
        kiln::create(c.g, o);
    } catch (const Error &e) {
        throw Error("kiln create failed: " + std::string(e.what()), e.code());
    }
    return 0;
}

}  // namespace kiln::cli
