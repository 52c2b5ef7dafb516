// kiln delete [--force] <container-id>

#include "cli.hpp"

namespace kiln::cli {

int cmd_delete(Context &c) {
    Options app;
    bool force = false;
    app.flag("--force,-f", force, "Forcibly deletes the container if it is still running (uses SIGKILL)");
    auto pos = app.parse(c, {"<container-id>", 1, 1});
    kiln::remove(c.g, pos[0], force);
    return 0;
}

}  // namespace kiln::cli
