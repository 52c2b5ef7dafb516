// kiln state <container-id>: runc's pretty state JSON, no trailing newline.

#include "cli.hpp"

namespace kiln::cli {

namespace {

std::string annotations_json(const std::map<std::string, std::string> &a, bool pretty) {
    std::string s = "{";
    const char *sep = pretty ? "\n    " : "";
    bool first = true;
    for (const auto &[k, v] : a) {
        s += first ? sep : (pretty ? ",\n    " : ",");
        s += log::json_quote(k) + (pretty ? ": " : ":") + log::json_quote(v);
        first = false;
    }
    return s + (pretty ? "\n  }" : "}");
}

}  // namespace

std::string state_json(const ContainerState &st, bool pretty, bool with_owner) {
    std::vector<std::pair<const char *, std::string>> f = {
        {"ociVersion", log::json_quote(st.ociVersion)},
        {"id", log::json_quote(st.id)},
        {"pid", std::to_string(st.pid)},
        {"status", log::json_quote(st.status)},
        {"bundle", log::json_quote(st.bundle)},
        {"rootfs", log::json_quote(st.rootfs)},
        {"created", log::json_quote(st.created)},
    };
    if (!st.annotations.empty()) f.emplace_back("annotations", annotations_json(st.annotations, pretty));
    f.emplace_back("owner", log::json_quote(with_owner ? st.owner : std::string()));
    std::string s = "{";
    for (size_t i = 0; i < f.size(); i++) {
        if (i) s += ',';
        if (pretty) s += "\n  ";
        s += std::string("\"") + f[i].first + (pretty ? "\": " : "\":") + f[i].second;
    }
    return s + (pretty ? "\n}" : "}");
}

int cmd_state(Context &c) {
    Options app;
    auto pos = app.parse(c, {"<container-id>", 1, 1});
    out(state_json(kiln::state(c.g, pos[0]), true, false));
    return 0;
}

}  // namespace kiln::cli
