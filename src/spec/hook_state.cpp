// The runtime-spec state object handed to hooks on stdin.
#include "kiln/json.hpp"
#include "kiln/spec.hpp"

namespace kiln::spec {

std::string hook_state_json(std::string_view ociVersion, std::string_view id, std::string_view status, int pid,
                            std::string_view bundle, const std::map<std::string, std::string> &annotations) {
    json::Writer w;
    w.begin_object();
    w.key("ociVersion").string(ociVersion);
    w.key("id").string(id);
    w.key("status").string(status);
    // The spec makes pid required only while a process exists; 0 means none
    // (creating before the init is forked, stopped after it has gone).
    if (pid != 0) w.key("pid").integer(pid);
    w.key("bundle").string(bundle);
    if (!annotations.empty()) {
        w.key("annotations").begin_object();
        for (const auto &[k, v] : annotations) w.key(k).string(v);
        w.end_object();
    }
    w.end_object();
    return w.str();
}

}  // namespace kiln::spec
