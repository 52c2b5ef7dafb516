// libFuzzer harness: config.json text -> spec::parse_config -> spec::validate,
// what `kiln create` does with a bundle before it creates anything. Bad input
// must end in a kiln::Error; any other exception, a crash or UB is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kiln/error.hpp"
#include "kiln/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view text(reinterpret_cast<const char *>(data), size);
    try {
        kiln::spec::Spec s = kiln::spec::parse_config(text);
        kiln::spec::validate(s);
        // The hooks round trip state.json relies on (create saves them, the
        // later commands read them back).
        if (s.hooks) kiln::spec::parse_hooks(kiln::spec::hooks_json(*s.hooks));
    } catch (const kiln::Error &) {
    }
    return 0;
}
