// Namespace types of the runtime-spec and their clone(2) flags.
#pragma once

#include <sched.h>

#include <string>

#include "spec/tables.hpp"

namespace kiln::ns {

// 0 for an unknown type (the table is spec/tables.hpp's, validation's too).
inline unsigned long flag_of(const std::string &type) {
    const spec::tables::Entry *e = spec::tables::find(spec::tables::kNamespaces, type);
    return e ? e->value : 0;
}

// Joins the namespace at path (setns); throws Error naming the path.
void join(const std::string &path, unsigned long flag);

}  // namespace kiln::ns
