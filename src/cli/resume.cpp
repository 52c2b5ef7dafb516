// kiln resume <container-id>  (parsed; not implemented yet)

#include "cli.hpp"

namespace kiln::cli {

int cmd_resume(Context &c) {
    Options app;
    app.parse(c, {"<container-id>", 1, 1});
    not_implemented(c);
}

}  // namespace kiln::cli
