// Minimal JSON reading/writing for the runtime's own files (state.json) and
// outputs (state, list, features). Implemented over yajl in src/spec/json.cpp:
// no other code includes yajl.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::json {

class Writer {
public:
    // indent: "" for compact output, e.g. "  " for runc's state output.
    explicit Writer(const char *indent = "");
    ~Writer();
    Writer(const Writer &) = delete;
    Writer &operator=(const Writer &) = delete;

    Writer &begin_object();
    Writer &end_object();
    Writer &begin_array();
    Writer &end_array();
    Writer &key(std::string_view k);
    Writer &string(std::string_view v);
    Writer &integer(long long v);
    Writer &uinteger(unsigned long long v);
    // Shortest text that reads back as v (as Go's encoding/json writes floats).
    Writer &real(double v);
    Writer &boolean(bool v);
    Writer &null();
    // The text written so far (yajl emits no trailing newline).
    std::string str() const;

private:
    void *gen_;
};

// A parsed document. Lookup by key path; missing keys give the defaults.
class Doc {
public:
    // Throws kiln::Error("<file>: <parser message>") on malformed input.
    static Doc parse(std::string_view text, std::string_view file);
    Doc(Doc &&) noexcept;
    ~Doc();
    std::string get_string(std::initializer_list<const char *> path, std::string def = {}) const;
    long long get_int(std::initializer_list<const char *> path, long long def = 0) const;
    bool get_bool(std::initializer_list<const char *> path, bool def = false) const;
    bool has(std::initializer_list<const char *> path) const;
    // Object members under path as (key, string value) pairs (non-strings skipped).
    std::vector<std::pair<std::string, std::string>> get_string_map(std::initializer_list<const char *> path) const;
    // Strings of the array under path (non-strings skipped); false when path is not an array.
    bool get_string_array(std::initializer_list<const char *> path, std::vector<std::string> &out) const;
    // The objects of the array under path, each as its string members; false when not an array.
    bool get_object_array(std::initializer_list<const char *> path,
                          std::vector<std::vector<std::pair<std::string, std::string>>> &out) const;

private:
    Doc() = default;
    void *tree_ = nullptr;
};

}  // namespace kiln::json
