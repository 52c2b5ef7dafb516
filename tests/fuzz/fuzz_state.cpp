// libFuzzer harness: <root>/<id>/state.json text -> kiln::parse_state, what
// every command after create reads first.
#include <cstddef>
#include <cstdint>
#include <string>

#include "container/state.hpp"
#include "kiln/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string text(reinterpret_cast<const char *>(data), size);
    try {
        kiln::parse_state(text, "state.json");
    } catch (const kiln::Error &) {
    }
    return 0;
}
