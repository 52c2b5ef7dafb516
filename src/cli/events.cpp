// kiln events [--interval D] [--stats] <container-id>  (parsed; not implemented yet)

#include "cli.hpp"

namespace kiln::cli {

int cmd_events(Context &c) {
    Options app;
    std::string interval = "5s";
    bool stats = false;
    app.value("--interval", interval, "set the stats collection interval (default: 5s)");
    app.flag("--stats", stats, "display the container's stats then exit");
    app.parse(c, {"<container-id>", 1, 1});
    not_implemented(c);
}

}  // namespace kiln::cli
