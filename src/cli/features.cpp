// kiln features: the runtime-spec features document.

#include "cli.hpp"
#include "kiln/checkpoint.hpp"
#include "kiln/spec.hpp"

namespace kiln::cli {

int cmd_features(Context &c) {
    Options app;
    app.parse(c, {"", 0, 0});
    out(spec::features_json(kiln::checkpoint_criu_version(c.g)) + "\n");
    return 0;
}

}  // namespace kiln::cli
