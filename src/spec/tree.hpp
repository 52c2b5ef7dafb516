// yajl_tree parsing with the guards every reader needs. Internal to src/spec/.
#pragma once

#include <memory>
#include <string_view>
#include <type_traits>

#include <yajl/yajl_tree.h>

namespace kiln::spec::detail {

// Deeper documents are refused before yajl sees them: yajl_tree_free (and any
// recursive walk) would otherwise recurse once per level and could exhaust the
// stack on hostile input.
inline constexpr int kMaxDepth = 256;

struct TreeFree {
    void operator()(yajl_val v) const { yajl_tree_free(v); }
};
using Tree = std::unique_ptr<std::remove_pointer_t<yajl_val>, TreeFree>;

// Parses text[0..len); text[len] must be NUL (yajl_tree wants a C string).
// Throws kiln::Error("<file>: parse error: <yajl message, one line>").
Tree parse_tree(const char *text, size_t len, std::string_view file);

}  // namespace kiln::spec::detail
