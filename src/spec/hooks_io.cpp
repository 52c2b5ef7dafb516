// Hooks saved in state.json at create, for `start` (poststart) and `delete`
// (poststop), so those commands never re-read the bundle's config.json.
#include "kiln/json.hpp"
#include "kiln/spec.hpp"

namespace kiln::spec {
namespace {

void write_list(json::Writer &w, const char *name, const std::vector<Hook> &hooks) {
    if (hooks.empty()) return;
    w.key(name).begin_array();
    for (auto &h : hooks) {
        w.begin_object().key("path").string(h.path);
        w.key("args").begin_array();
        for (auto &a : h.args) w.string(a);
        w.end_array().key("env").begin_array();
        for (auto &e : h.env) w.string(e);
        w.end_array();
        if (h.timeout) w.key("timeout").integer(*h.timeout);
        w.end_object();
    }
    w.end_array();
}

}  // namespace

std::string hooks_json(const Hooks &h) {
    json::Writer w;
    w.begin_object();
    write_list(w, "prestart", h.prestart);
    write_list(w, "createRuntime", h.createRuntime);
    write_list(w, "createContainer", h.createContainer);
    write_list(w, "startContainer", h.startContainer);
    write_list(w, "poststart", h.poststart);
    write_list(w, "poststop", h.poststop);
    w.end_object();
    return w.str();
}

Hooks parse_hooks(std::string_view text) {
    std::string doc = "{\"ociVersion\":\"1.0.0\",\"hooks\":";
    doc.append(text.empty() ? "{}" : text);
    doc += '}';
    auto s = parse_config(doc, "state.json");
    return s.hooks ? *s.hooks : Hooks{};
}

}  // namespace kiln::spec
