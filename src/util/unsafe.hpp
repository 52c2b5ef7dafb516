// Switches that turn a protection off, for the CVE regression tests only.
//
// A normal build compiles every check to `false`. A build configured with
// -Dunsafe_knobs=true reads KILN_UNSAFE (comma-separated names such as
// "cve-2024-21626") so a test can show that the attack works without the
// protection and fails with it. Never enable the option in a shipped binary.
#pragma once

#ifdef KILN_UNSAFE_KNOBS
#include <cstdlib>
#include <cstring>
#endif

namespace kiln::unsafe {

// True when the protection `name` has been switched off.
inline bool off([[maybe_unused]] const char *name) {
#ifdef KILN_UNSAFE_KNOBS
    const char *list = std::getenv("KILN_UNSAFE");
    if (!list) return false;
    size_t n = std::strlen(name);
    for (const char *p = list; (p = std::strstr(p, name)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) return true;
    return false;
#else
    return false;
#endif
}

}  // namespace kiln::unsafe
