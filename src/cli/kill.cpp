// kiln kill [--all] <container-id> [signal]

#include "cli.hpp"

namespace kiln::cli {

int cmd_kill(Context &c) {
    Options app;
    bool all = false;
    app.flag("--all,-a", all, "send the specified signal to all processes inside the container");
    auto pos = app.parse(c, {"<container-id> [signal]", 1, 2, true});
    int sig = kiln::parse_signal(pos.size() > 1 ? pos[1] : "SIGTERM");
    kiln::kill(c.g, pos[0], sig, all);
    return 0;
}

}  // namespace kiln::cli
