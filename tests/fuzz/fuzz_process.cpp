// libFuzzer harness: the JSON of `kiln exec --process FILE` -> spec::parse_process.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kiln/error.hpp"
#include "kiln/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view text(reinterpret_cast<const char *>(data), size);
    try {
        kiln::spec::parse_process(text, "process.json");
    } catch (const kiln::Error &) {
    }
    return 0;
}
