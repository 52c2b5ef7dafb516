// kiln features: the runtime-spec features document.

#include "cli.hpp"
#include "kiln/spec.hpp"

namespace kiln::cli {

int cmd_features(Context &c) {
    Options app;
    app.parse(c, {"", 0, 0});
    out(spec::features_json() + "\n");
    return 0;
}

}  // namespace kiln::cli
