// Go flag syntax as runc accepts it, rewritten into canonical tokens, plus the
// global options. Kept free of CLI11 so the unit tests can compile it alone.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "cli.hpp"
#include "handlers/handler.hpp"
#include "kiln/error.hpp"
#include "linux/userns.hpp"
#include "util/fd.hpp"

namespace kiln::cli {

namespace {

std::string dashed(std::string_view name) { return "-" + std::string(name); }

std::string bool_token(const FlagInfo &f, std::string_view name, std::string_view value, bool has_value) {
    bool b = true;
    if (has_value && !parse_bool(value, b))
        throw UsageError("invalid boolean value \"" + std::string(value) + "\" for " + dashed(name) + ": parse error");
    return "--" + f.name + (b ? "=true" : "=false");
}

void take_rest(const std::vector<std::string> &args, size_t from, SplitArgs &r) {
    r.positionals.insert(r.positionals.end(), args.begin() + static_cast<long>(from), args.end());
}

bool is_flag(const std::string &a) { return a.size() > 1 && a[0] == '-'; }

}  // namespace

SplitArgs normalize(const std::vector<std::string> &args, const FlagLookup &lookup, bool stop_at_positional) {
    SplitArgs r;
    for (size_t i = 0; i < args.size(); i++) {
        const std::string &a = args[i];
        if (a == "--") {
            take_rest(args, i + 1, r);
            break;
        }
        if (!is_flag(a)) {
            if (stop_at_positional) {
                take_rest(args, i, r);
                break;
            }
            r.positionals.push_back(a);
            continue;
        }
        std::string_view body(a);
        body.remove_prefix(a[1] == '-' ? 2 : 1);
        size_t eq = body.find('=');
        std::string_view name = body.substr(0, eq);
        if (name.empty() || name[0] == '-' || name[0] == '=') throw UsageError("bad flag syntax: " + a);
        bool has_value = eq != std::string_view::npos;
        std::string_view value = has_value ? body.substr(eq + 1) : std::string_view();
        FlagInfo f = lookup(name);
        if (f.kind == FlagKind::unknown) {
            if (name == "h" || name == "help") {
                r.help = true;
                continue;
            }
            throw UsageError("flag provided but not defined: " + dashed(name));
        }
        if (f.kind == FlagKind::boolean) {
            r.flags.push_back(bool_token(f, name, value, has_value));
            continue;
        }
        if (!has_value) {
            if (i + 1 >= args.size()) throw UsageError("flag needs an argument: " + dashed(name));
            value = args[++i];
        }
        r.flags.push_back("--" + f.name + "=" + std::string(value));
    }
    return r;
}

bool parse_bool(std::string_view s, bool &out) {
    if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") {
        out = true;
        return true;
    }
    if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False") {
        out = false;
        return true;
    }
    return false;
}

std::string clean_path(std::string_view p) {
    if (p.empty()) return ".";
    bool rooted = p[0] == '/';
    std::vector<std::string_view> parts;
    size_t dotdot = 0;  // leading ".." kept in a relative path
    size_t i = 0;
    while (i < p.size()) {
        size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        std::string_view part = p.substr(i, j - i);
        i = j + 1;
        if (part.empty() || part == ".") continue;
        if (part != "..") {
            parts.push_back(part);
        } else if (parts.size() > dotdot) {
            parts.pop_back();
        } else if (!rooted) {
            parts.push_back(part);
            dotdot++;
        }
    }
    std::string out = rooted ? "/" : "";
    for (size_t k = 0; k < parts.size(); k++) {
        if (k) out += '/';
        out += parts[k];
    }
    return out.empty() ? "." : out;
}

std::string absolute_path(std::string_view p, std::string_view base) {
    if (!p.empty() && p[0] == '/') return clean_path(p);
    std::string dir(base);
    if (dir.empty()) {
        char buf[4096];
        if (!getcwd(buf, sizeof buf)) throw_errno("getcwd");
        dir = buf;
    }
    return clean_path(dir + "/" + std::string(p));
}

namespace {

FlagInfo global_flag(std::string_view n) {
    if (n == "debug" || n == "systemd-cgroup") return {FlagKind::boolean, std::string(n)};
    if (n == "version" || n == "v") return {FlagKind::boolean, "version"};
    if (n == "log" || n == "log-format" || n == "root" || n == "criu" || n == "rootless")
        return {FlagKind::value, std::string(n)};
    if (const handlers::GlobalFlag *f = handlers::global_flag(n))
        return {f->boolean ? FlagKind::boolean : FlagKind::value, std::string(n)};
    return {};
}

// runc's rule: $XDG_RUNTIME_DIR is honoured when not root, or as root of a
// user namespace whose $USER is not root.
std::string xdg_root() {
    const char *xdg = std::getenv("XDG_RUNTIME_DIR");
    if (!xdg || !*xdg) return "";
    if (geteuid() == 0) {
        const char *user = std::getenv("USER");
        if (!userns::running_in_user_ns() || (user && std::string_view(user) == "root")) return "";
    }
    return clean_path(std::string(xdg) + "/kiln");
}

bool makes_state(const std::string &command) { return command == "create" || command == "run" || command == "restore"; }

// $XDG_RUNTIME_DIR/kiln, made 0700 with the sticky bit (so that the XDG
// cleaner leaves it alone) as runc does; else /run/kiln, which a user
// other than root can rarely write: say so before anything is made.
std::string default_root(const std::string &command) {
    std::string root = xdg_root();
    if (root.empty()) {
        root = "/run/kiln";
        bool usable = ::access(root.c_str(), W_OK | X_OK) == 0 || (errno == ENOENT && ::access("/run", W_OK | X_OK) == 0);
        if (geteuid() != 0 && makes_state(command) && !usable)
            throw Error("cannot use the default state directory " + root + " as uid " + std::to_string(geteuid()) +
                        " and $XDG_RUNTIME_DIR is not set: set XDG_RUNTIME_DIR (e.g. /run/user/" +
                        std::to_string(geteuid()) + ") or pass --root DIR");
        return root;
    }
    try {
        if (::mkdir(root.c_str(), 0700) < 0 && errno != EEXIST) mkdir_all(root, 0700);
    } catch (const Error &e) {
        throw Error(std::string("the path in $XDG_RUNTIME_DIR must be writable by the user: ") + e.what(), e.code());
    }
    if (::chmod(root.c_str(), 0700 | S_ISVTX) < 0)
        throw_errno("you should check permission of the path in $XDG_RUNTIME_DIR: chmod " + root);
    return root;
}

std::string rootless_value(const std::string &v) {
    bool b = false;
    if (v.empty() || v == "auto" || v == "AUTO" || v == "Auto") return "auto";
    if (!parse_bool(v, b)) throw Error("invalid --rootless value \"" + v + "\": must be true, false or auto");
    return b ? "true" : "false";
}

void apply_global(GlobalArgs &g, std::string_view tok, bool &root_set) {
    size_t eq = tok.find('=');
    std::string_view name = tok.substr(2, eq - 2);
    std::string value(tok.substr(eq + 1));
    if (name == "debug") g.g.debug = value == "true";
    else if (name == "systemd-cgroup") g.g.systemd_cgroup = value == "true";
    else if (name == "version") g.version = value == "true";
    else if (name == "log") g.log_path = value;
    else if (name == "log-format") g.log_format = value;
    else if (name == "rootless") g.g.rootless = value;
    else if (const handlers::GlobalFlag *f = handlers::global_flag(name)) f->apply(g.g, value);  // src/handlers
    else if (name == "criu") g.g.criu = value;  // checkpoint/restore only
    else if (name == "root") {
        g.g.root = value.empty() ? "." : value;
        root_set = true;
    }
}

}  // namespace

GlobalArgs parse_globals(const std::vector<std::string> &args) {
    SplitArgs s = normalize(args, global_flag, true);
    GlobalArgs g;
    g.help = s.help;
    bool root_set = false;
    for (const std::string &tok : s.flags) apply_global(g, tok, root_set);
    if (!s.positionals.empty()) {
        g.command = s.positionals[0];
        g.rest.assign(s.positionals.begin() + 1, s.positionals.end());
    }
    if (!root_set) g.g.root.clear();
    return g;
}

void check_globals(GlobalArgs &g) {
    g.g.rootless = rootless_value(g.g.rootless);
    g.g.root = g.g.root.empty() ? default_root(g.command) : absolute_path(g.g.root);
    if (g.g.root == "/") throw Error("Option --root argument should not be set to /");
}

}  // namespace kiln::cli
