// kiln ps [--format table|json] <container-id> [ps options]  (parsed; not implemented yet)

#include "cli.hpp"

namespace kiln::cli {

int cmd_ps(Context &c) {
    Options app;
    std::string format = "table";
    app.value("--format,-f", format, "select one of: table or json (default: \"table\")");
    app.parse(c, {"<container-id> [ps options]", 1, -1, true});
    not_implemented(c);
}

}  // namespace kiln::cli
