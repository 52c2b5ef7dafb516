// kiln run [options] <container-id>: create + start; exits with the container's status.

#include "cli.hpp"
#include "kiln/error.hpp"

namespace kiln::cli {

int cmd_run(Context &c) {
    Options app;
    RunOptions o;
    add_create_flags(app, o);
    app.flag("--detach,-d", o.detach, "detach from the container's process");
    app.flag("--keep", o.keep, "do not delete the container after it exits");
    app.flag("--no-subreaper", o.no_subreaper, "disable the use of the subreaper used to reap reparented processes");
    auto pos = app.parse(c, {"<container-id>", 1, 1});
    try {
        finish_create_options(o, pos[0]);
        return kiln::run(c.g, o);
    } catch (const Error &e) {
        throw Error("kiln run failed: " + std::string(e.what()), e.code());
    }
}

}  // namespace kiln::cli
