#include "kiln/container.hpp"
#include "kiln/error.hpp"

namespace kiln {
void validate_id(const std::string &) { throw Error("not implemented yet"); }
int parse_signal(const std::string &) { throw Error("not implemented yet"); }
void create(const Globals &, const CreateOptions &) { throw Error("not implemented yet"); }
void start(const Globals &, const std::string &) { throw Error("not implemented yet"); }
int run(const Globals &, const RunOptions &) { throw Error("not implemented yet"); }
void kill(const Globals &, const std::string &, int, bool) { throw Error("not implemented yet"); }
void remove(const Globals &, const std::string &, bool) { throw Error("not implemented yet"); }
ContainerState state(const Globals &, const std::string &) { throw Error("not implemented yet"); }
std::vector<ContainerState> list(const Globals &) { throw Error("not implemented yet"); }
}  // namespace kiln
