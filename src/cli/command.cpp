// Per-command parsing: Go flag syntax -> canonical tokens -> CLI11, help text,
// argument-count checks worded like runc's.
#include <unistd.h>

// CLI11 2.1 includes <iostream> for the defaults of App::exit and two warnings kiln never
// reaches (kiln parses with exceptions and writes with write(2)). In GCC 12 that header puts a
// static std::ios_base::Init in this TU, which builds cin/cout/cerr/clog and their wide
// twins with their locale facets at every start: ~0.08 ms and 25 page faults of each
// command, `state` included (measured; bench/PROFILE.md §7 item 5). Take the stream
// declarations without that initialiser. The objects are still libstdc++'s; nothing in
// kiln may write to them (tests/unit/test_startup.cpp checks the binary has no
// ios_base::Init).
#define _GLIBCXX_IOSTREAM 1
#include <istream>
#include <ostream>
namespace std {
extern istream cin;
extern ostream cout;
extern ostream cerr;
extern ostream clog;
}  // namespace std
#include <CLI/CLI.hpp>

#include "cli.hpp"
#include "kiln/error.hpp"
#include "kiln/log.hpp"

namespace kiln::cli {

void out(std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(STDOUT_FILENO, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        s.remove_prefix(static_cast<size_t>(n));
    }
}

namespace {

FlagInfo find_flag(CLI::App &app, std::string_view name) {
    std::string n(name);
    for (const CLI::Option *o : app.get_options()) {
        if (!o->check_lname(n) && !o->check_sname(n)) continue;
        const auto &l = o->get_lnames();
        return {o->get_expected_max() == 0 ? FlagKind::boolean : FlagKind::value, l.empty() ? n : l[0]};
    }
    return {};
}

std::string option_names(const CLI::Option *o) {
    std::string s;
    const char *value = o->get_expected_max() == 0 ? "" : " value";
    for (const auto &l : o->get_lnames()) s += (s.empty() ? "--" : ", --") + l + value;
    for (const auto &n : o->get_snames()) s += (s.empty() ? "-" : ", -") + n + value;
    return s;
}

// Go flags: a repeated scalar flag keeps its last value; slices collect all.
void last_value_wins(CLI::App &app) {
    for (CLI::Option *o : app.get_options())
        if (o->get_items_expected_max() <= 1) o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

std::string options_help(CLI::App &app) {
    std::vector<std::pair<std::string, std::string>> rows;
    size_t width = 0;
    for (const CLI::Option *o : app.get_options()) {
        rows.emplace_back(option_names(o), o->get_description());
        width = std::max(width, rows.back().first.size());
    }
    if (rows.empty()) return "";
    std::string s = "\nOPTIONS:\n";
    for (const auto &[names, desc] : rows) s += "   " + names + std::string(width - names.size() + 2, ' ') + desc + "\n";
    return s;
}

}  // namespace

Options::Options() = default;
Options::~Options() = default;

void Options::flag(const char *names, bool &v, const char *help) { regs_.push_back({names, Kind::flag, &v, help}); }
void Options::value(const char *names, std::string &v, const char *help) { regs_.push_back({names, Kind::text, &v, help}); }
void Options::value(const char *names, unsigned &v, const char *help) { regs_.push_back({names, Kind::uint, &v, help}); }
void Options::value(const char *names, int &v, const char *help) { regs_.push_back({names, Kind::sint, &v, help}); }
void Options::value(const char *names, long long &v, const char *help) { regs_.push_back({names, Kind::llong, &v, help}); }
void Options::values(const char *names, std::vector<std::string> &v, const char *help) {
    regs_.push_back({names, Kind::texts, &v, help});
}

CLI::App &Options::app() {
    if (app_) return *app_;
    app_ = std::make_unique<CLI::App>();
    CLI::App &a = *app_;
    a.set_help_flag();
    for (const Registration &r : regs_) {
        switch (r.kind) {
        case Kind::flag: a.add_flag(r.names, *static_cast<bool *>(r.target), r.help); break;
        case Kind::text: a.add_option(r.names, *static_cast<std::string *>(r.target), r.help); break;
        case Kind::uint: a.add_option(r.names, *static_cast<unsigned *>(r.target), r.help); break;
        case Kind::sint: a.add_option(r.names, *static_cast<int *>(r.target), r.help); break;
        case Kind::llong: a.add_option(r.names, *static_cast<long long *>(r.target), r.help); break;
        case Kind::texts:
            a.add_option(r.names, *static_cast<std::vector<std::string> *>(r.target), r.help)
                ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
            break;
        }
    }
    last_value_wins(a);
    return a;
}

std::string Options::help(const Context &c, const Usage &u) {
    std::string opts = options_help(app());
    std::string s = "NAME:\n   kiln " + c.name + " - " + c.summary + "\n\nUSAGE:\n   kiln " + c.name;
    if (!opts.empty()) s += " [command options]";
    s += std::string(" ") + u.args + "\n";
    return s + opts;
}

namespace {

[[noreturn]] void usage_error(const std::string &msg, const std::string &help) {
    out("Incorrect Usage: " + msg + "\n\n" + help);
    log::error(msg);
    throw Exit{1};
}

// runc's checkArgs wording; "" when the count is fine.
std::string count_error(const Context &c, const Usage &u, int n) {
    const char *how = nullptr;
    int want = 0;
    if (u.min_args == u.max_args && n != u.min_args) {
        how = "exactly";
        want = u.min_args;
    } else if (n < u.min_args) {
        how = "a minimum of";
        want = u.min_args;
    } else if (u.max_args >= 0 && n > u.max_args) {
        how = "a maximum of";
        want = u.max_args;
    }
    if (!how) return "";
    return "kiln: \"" + c.name + "\" requires " + how + " " + std::to_string(want) + " argument(s)";
}

// CLI11's "Could not convert: --name = value" in Go's words.
std::string go_parse_error(const std::string &msg) {
    const std::string head = "Could not convert: --";
    size_t eq = msg.find(" = ");
    if (msg.rfind(head, 0) != 0 || eq == std::string::npos) return msg;
    std::string name = msg.substr(head.size(), eq - head.size());
    return "invalid value \"" + msg.substr(eq + 3) + "\" for flag -" + name + ": parse error";
}

}  // namespace

std::vector<std::string> Options::parse(const Context &c, const Usage &u) {
    SplitArgs split;
    try {
        split = normalize(c.args, [this](std::string_view n) { return find_flag(app(), n); }, u.stop_at_positional);
    } catch (const UsageError &e) {
        usage_error(e.what(), help(c, u));
    }
    if (split.help) {
        out(help(c, u));
        throw Exit{0};
    }
    std::vector<std::string> rev(split.flags.rbegin(), split.flags.rend());
    try {
        if (!rev.empty()) app().parse(rev);
    } catch (const CLI::ParseError &e) {
        usage_error(go_parse_error(e.what()), help(c, u));
    }
    std::string err = count_error(c, u, static_cast<int>(split.positionals.size()));
    if (!err.empty()) {
        out("Incorrect Usage.\n\n" + help(c, u));
        log::error(err);
        throw Exit{1};
    }
    return split.positionals;
}

void not_implemented(const Context &c) { throw Error("kiln: " + c.name + ": not implemented yet"); }

}  // namespace kiln::cli
