// kiln pause <container-id>

#include "cli.hpp"

namespace kiln::cli {

int cmd_pause(Context &c) {
    Options app;
    auto pos = app.parse(c, {"<container-id>", 1, 1});
    kiln::pause(c.g, pos[0]);
    return 0;
}

}  // namespace kiln::cli
