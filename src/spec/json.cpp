// kiln::json::Writer / Doc over yajl, and the shared guarded tree parser.
#include "kiln/json.hpp"

#include <yajl/yajl_gen.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kiln/error.hpp"
#include "tree.hpp"
#include "util/unsafe.hpp"

namespace kiln::spec::detail {
namespace {

// The text of yajl_tree_parse is a C string and its strings are C strings:
// a NUL byte would end the document there and a \u0000 escape would cut a
// string (an argument, a path, an env entry) short without a word.
bool nul_escape(const char *p, const char *end) {
    return end - p >= 5 && p[0] == 'u' && std::memcmp(p + 1, "0000", 4) == 0;
}

// One pass over the text before yajl sees it, refusing
//  - nesting deeper than kMaxDepth: yajl_tree_free (and any recursive walk)
//    recurses once per level, so deep input could exhaust the stack;
//  - comments, which yajl_tree accepts and Go's encoding/json (so runc) does
//    not; brackets inside a comment would fool the depth count;
//  - a close bracket with nothing open (depth below zero);
//  - NUL, raw or as \u0000 (Go keeps it and the syscall then fails; a
//    clear error here is better than a truncated string).
// Errors about a string name its field, as parse.cpp does.
class Prescan {
public:
    Prescan(std::string_view file, const std::string &prefix) : file_(file), prefix_(prefix) {}

    void run(const char *p, const char *end) {
        while (p < end) {
            char c = *p++;
            if (c == '"') p = string(p, end);
            else if (c == '[' || c == '{') open(c);
            else if (c == ']' || c == '}') close(c);
            else if (c == ',' && strict_ && !frames_.empty()) comma();
            else if (c == '/' && strict_) throw Error(prefix_ + "invalid character '/' (JSON has no comments)");
            else if (c == '\0' && no_nul_) throw Error(prefix_ + "NUL byte in the document");
        }
    }

private:
    // A container the scan is inside, and where in it the scan is.
    struct Frame {
        bool array = false;
        bool want_key = false;  // object: the next string is a member name
        size_t index = 0;       // array: element position
        std::string_view key;   // object: the current member name (raw text)
    };

    bool at_key() const { return !frames_.empty() && !frames_.back().array && frames_.back().want_key; }

    // p is just past the opening quote; returns just past the closing one.
    const char *string(const char *p, const char *end) {
        const char *start = p;
        while (p < end) {
            char d = *p++;
            if (d == '"') break;
            if (d == '\0' && no_nul_) fail_at("string contains a NUL byte");
            if (d != '\\') continue;
            if (no_nul_ && nul_escape(p, end)) {
                bool key = at_key();
                if (key) frames_.back().key = {};
                fail_at(key ? "member name contains a NUL character (\\u0000)"
                            : "string contains a NUL character (\\u0000)");
            }
            ++p;
        }
        if (at_key()) {
            frames_.back().key = std::string_view(start, static_cast<size_t>(p - 1 - start));
            frames_.back().want_key = false;
        }
        return p;
    }

    void open(char c) {
        if (++depth_ > kMaxDepth) throw Error(prefix_ + "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
        if (strict_) frames_.push_back({c == '[', c == '{', 0, {}});
    }

    void close(char c) {
        --depth_;
        if (!strict_) return;  // knob json-comments: the old, unguarded count
        if (depth_ < 0) throw Error(prefix_ + "unexpected '" + c + "' with nothing open");
        frames_.pop_back();
    }

    void comma() {
        if (frames_.back().array) ++frames_.back().index;
        else frames_.back().want_key = true;
    }

    // "<file>: process.args[1]: <problem>", the way parse.cpp names a field.
    [[noreturn]] void fail_at(const std::string &problem) const {
        std::string at;
        for (auto &f : frames_) {
            if (f.array) {
                at += '[' + std::to_string(f.index) + ']';
            } else if (!f.key.empty()) {
                if (!at.empty()) at += '.';
                at += f.key;
            }
        }
        throw Error(std::string(file_) + ": " + (at.empty() ? "" : at + ": ") + problem);
    }

    std::string_view file_;
    const std::string &prefix_;
    const bool strict_ = !unsafe::off("json-comments");
    const bool no_nul_ = !unsafe::off("json-nul");
    std::vector<Frame> frames_;
    int depth_ = 0;
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// yajl's verbose message is three lines (message, text excerpt, caret);
// runtime errors must be one line, so keep the message and the excerpt.
std::string one_line(std::string_view msg) {
    auto nl = msg.find('\n');
    std::string_view first = trim(msg.substr(0, nl));
    if (first.substr(0, 13) == "parse error: ") first.remove_prefix(13);
    std::string out(first);
    if (nl != std::string_view::npos) {
        std::string_view rest = msg.substr(nl + 1);
        std::string_view excerpt = trim(rest.substr(0, rest.find('\n')));
        if (!excerpt.empty()) out += " near '" + std::string(excerpt) + "'";
    }
    if (out.empty()) out = "malformed JSON";
    return out;
}

}  // namespace

Tree parse_tree(const char *text, size_t len, std::string_view file) {
    std::string prefix = std::string(file) + ": parse error: ";
    Prescan(file, prefix).run(text, text + len);
    char err[512];
    err[0] = '\0';
    yajl_val v = yajl_tree_parse(text, err, sizeof err);
    if (!v) throw Error(prefix + one_line(err));
    return Tree(v);
}

}  // namespace kiln::spec::detail

namespace kiln::json {
namespace {

struct Gen {
    yajl_gen g = nullptr;
    std::string indent;  // yajl keeps only the pointer, so we own the bytes
};

Gen *gen(void *p) { return static_cast<Gen *>(p); }

void check(yajl_gen_status st) {
    // Only misuse (a value where a key belongs, unbalanced close) gets here.
    if (st != yajl_gen_status_ok)
        throw Error("json writer: invalid call sequence (yajl status " + std::to_string(st) + ")");
}

const unsigned char *bytes(std::string_view s) { return reinterpret_cast<const unsigned char *>(s.data()); }

yajl_val lookup(void *tree, std::initializer_list<const char *> path) {
    // On the stack: list asks ~15 of these per container.
    const char *keys[8];
    if (path.size() >= std::size(keys)) throw Error("json: key path too deep");
    size_t n = 0;
    for (const char *k : path) keys[n++] = k;
    keys[n] = nullptr;
    return yajl_tree_get(static_cast<yajl_val>(tree), keys, yajl_t_any);
}

}  // namespace

Writer::Writer(const char *indent) : gen_(new Gen) {
    Gen *w = gen(gen_);
    w->indent = indent ? indent : "";
    w->g = yajl_gen_alloc(nullptr);
    if (!w->g) {
        delete w;
        throw Error("json writer: out of memory");
    }
    if (!w->indent.empty()) {
        yajl_gen_config(w->g, yajl_gen_beautify, 1);
        yajl_gen_config(w->g, yajl_gen_indent_string, w->indent.c_str());
    }
}

Writer::~Writer() {
    yajl_gen_free(gen(gen_)->g);
    delete gen(gen_);
}

Writer &Writer::begin_object() {
    check(yajl_gen_map_open(gen(gen_)->g));
    return *this;
}
Writer &Writer::end_object() {
    check(yajl_gen_map_close(gen(gen_)->g));
    return *this;
}
Writer &Writer::begin_array() {
    check(yajl_gen_array_open(gen(gen_)->g));
    return *this;
}
Writer &Writer::end_array() {
    check(yajl_gen_array_close(gen(gen_)->g));
    return *this;
}
Writer &Writer::key(std::string_view k) { return string(k); }
Writer &Writer::string(std::string_view v) {
    check(yajl_gen_string(gen(gen_)->g, bytes(v), v.size()));
    return *this;
}
Writer &Writer::integer(long long v) {
    check(yajl_gen_integer(gen(gen_)->g, v));
    return *this;
}
Writer &Writer::uinteger(unsigned long long v) {
    // yajl_gen_integer is signed; write the digits ourselves so values above
    // LLONG_MAX (seccomp masks, "unlimited" rlimits) survive.
    std::string digits = std::to_string(v);
    check(yajl_gen_number(gen(gen_)->g, digits.data(), digits.size()));
    return *this;
}
// The shortest %g that reads back as v (what Go's encoding/json prints).
// Not std::to_chars(double): it links libstdc++'s floating_to_chars, which
// brings libm and about 1 MB of mappings and page faults into every kiln
// command, `state` included.
Writer &Writer::real(double v) {
    char buf[64];
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = std::snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    check(yajl_gen_number(gen(gen_)->g, buf, static_cast<size_t>(n)));
    return *this;
}
Writer &Writer::boolean(bool v) {
    check(yajl_gen_bool(gen(gen_)->g, v));
    return *this;
}
Writer &Writer::null() {
    check(yajl_gen_null(gen(gen_)->g));
    return *this;
}

std::string Writer::str() const {
    const unsigned char *buf = nullptr;
    size_t len = 0;
    yajl_gen_get_buf(gen(gen_)->g, &buf, &len);
    std::string out(reinterpret_cast<const char *>(buf), len);
    // Beautified output ends with a newline once complete; callers add their own.
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

Doc Doc::parse(std::string_view text, std::string_view file) {
    std::string copy(text);  // yajl_tree_parse needs NUL termination
    Doc d;
    d.tree_ = spec::detail::parse_tree(copy.c_str(), copy.size(), file).release();
    return d;
}

Doc::Doc(Doc &&o) noexcept : tree_(o.tree_) { o.tree_ = nullptr; }

Doc::~Doc() { yajl_tree_free(static_cast<yajl_val>(tree_)); }

std::string Doc::get_string(std::initializer_list<const char *> path, std::string def) const {
    yajl_val v = lookup(tree_, path);
    return YAJL_IS_STRING(v) ? std::string(YAJL_GET_STRING(v)) : def;
}

long long Doc::get_int(std::initializer_list<const char *> path, long long def) const {
    yajl_val v = lookup(tree_, path);
    return YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : def;
}

bool Doc::get_bool(std::initializer_list<const char *> path, bool def) const {
    yajl_val v = lookup(tree_, path);
    if (YAJL_IS_TRUE(v)) return true;
    if (YAJL_IS_FALSE(v)) return false;
    return def;
}

bool Doc::has(std::initializer_list<const char *> path) const { return lookup(tree_, path) != nullptr; }

std::vector<std::pair<std::string, std::string>> Doc::get_string_map(std::initializer_list<const char *> path) const {
    std::vector<std::pair<std::string, std::string>> out;
    yajl_val v = lookup(tree_, path);
    if (!YAJL_IS_OBJECT(v)) return out;
    for (size_t i = 0; i < v->u.object.len; ++i) {
        yajl_val val = v->u.object.values[i];
        if (YAJL_IS_STRING(val)) out.emplace_back(v->u.object.keys[i], YAJL_GET_STRING(val));
    }
    return out;
}

bool Doc::get_string_array(std::initializer_list<const char *> path, std::vector<std::string> &out) const {
    yajl_val v = lookup(tree_, path);
    if (!YAJL_IS_ARRAY(v)) return false;
    for (size_t i = 0; i < v->u.array.len; ++i)
        if (YAJL_IS_STRING(v->u.array.values[i])) out.emplace_back(YAJL_GET_STRING(v->u.array.values[i]));
    return true;
}

bool Doc::get_object_array(std::initializer_list<const char *> path,
                           std::vector<std::vector<std::pair<std::string, std::string>>> &out) const {
    yajl_val v = lookup(tree_, path);
    if (!YAJL_IS_ARRAY(v)) return false;
    for (size_t i = 0; i < v->u.array.len; ++i) {
        yajl_val o = v->u.array.values[i];
        auto &members = out.emplace_back();
        if (!YAJL_IS_OBJECT(o)) continue;
        for (size_t k = 0; k < o->u.object.len; ++k)
            if (YAJL_IS_STRING(o->u.object.values[k])) members.emplace_back(o->u.object.keys[k], YAJL_GET_STRING(o->u.object.values[k]));
    }
    return true;
}

}  // namespace kiln::json
