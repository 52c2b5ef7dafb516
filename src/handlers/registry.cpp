// The handler table, and what the core asks of it (handler.hpp).
#include <cstring>

#include "handlers/handler.hpp"
#include "handlers/km.hpp"

namespace kiln::handlers {
namespace {

const Entry kDefault{"default", nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

}  // namespace

const std::vector<const Entry *> &registry() {
    static const std::vector<const Entry *> table = {&kDefault, &km::kEntry};
    return table;
}

std::unique_ptr<Handler> select(const Globals &g, const spec::Spec &spec, const std::string &id, bool create,
                                const std::string &bundle) {
    for (const Entry *e : registry())
        if (e->claim)
            if (auto h = e->claim(g, spec, id, create, bundle)) return h;
    return std::make_unique<Handler>();
}

std::unique_ptr<Handler> for_exec(const Globals &g, const std::string &id, const Annotations &a) {
    for (const Entry *e : registry())
        if (e->for_exec)
            if (auto h = e->for_exec(g, id, a)) return h;
    return std::make_unique<Handler>();
}

int start_signal(const Annotations &a) {
    for (const Entry *e : registry())
        if (e->start_signal)
            if (int sig = e->start_signal(a)) return sig;
    return 0;
}

bool checkpoint(const StoredState &st, const CheckpointOptions &o, bool paused) {
    for (const Entry *e : registry())
        if (e->checkpoint && e->checkpoint(st, o, paused)) return true;
    return false;
}

bool restore(const Globals &g, const RestoreOptions &o, int &status) {
    for (const Entry *e : registry())
        if (e->restore && e->restore(g, o, status)) return true;
    return false;
}

void apply_alias(std::string_view argv0_name, Globals &g) {
    for (const Entry *e : registry())
        if (e->alias) e->alias(argv0_name, g);
}

std::vector<const GlobalFlag *> global_flags() {
    std::vector<const GlobalFlag *> out;
    for (const Entry *e : registry())
        for (const GlobalFlag *f = e->flags; f && f->name; ++f) out.push_back(f);
    return out;
}

const GlobalFlag *global_flag(std::string_view name) {
    for (const GlobalFlag *f : global_flags())
        if (name == f->name) return f;
    return nullptr;
}

std::string names(std::string_view sep) {
    std::string out;
    for (const Entry *e : registry()) out += (out.empty() ? "" : std::string(sep)) + e->name;
    return out;
}

}  // namespace kiln::handlers
