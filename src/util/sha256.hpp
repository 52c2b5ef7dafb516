// SHA-256 (FIPS 180-4), small and self-contained: the stack has no crypto
// library. Used by payload handlers to check the files they run against
// the digests in their host config (src/handlers).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

class Sha256 {
public:
    Sha256();
    void update(const void *data, size_t len);
    std::array<uint8_t, 32> digest();  // once; the object is spent afterwards
    std::string hex();                 // lowercase hex of digest()

private:
    void block(const uint8_t *p);
    uint32_t h_[8];
    uint8_t buf_[64];
    size_t used_ = 0;
    uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view data);
// Digest of everything readable from fd (from its current offset); throws on read errors.
std::string sha256_fd(int fd, const std::string &what);

}  // namespace kiln
