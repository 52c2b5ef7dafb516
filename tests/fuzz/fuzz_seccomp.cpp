// libFuzzer harness: a linux.seccomp object -> spec::validate ->
// process::build_seccomp (the libseccomp filter the init would load) ->
// seccomp_export_bpf to /dev/null. Nothing is loaded into this process.
#include <fcntl.h>
#include <seccomp.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "kiln/error.hpp"
#include "kiln/spec.hpp"
#include "linux/process.hpp"

namespace {
int devnull() {
    static int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    return fd;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // The smallest config validate accepts around the fuzzed object.
    std::string text = R"({"ociVersion":"1.2.0","root":{"path":"rootfs"},"linux":{"seccomp":)";
    text.append(reinterpret_cast<const char *>(data), size);
    text += "}}";
    try {
        kiln::spec::Spec s = kiln::spec::parse_config(text);
        kiln::spec::validate(s);
        if (!s.linux || !s.linux->seccomp) return 0;
        auto filter = kiln::process::build_seccomp(*s.linux->seccomp, size % 2 == 0);
        seccomp_export_bpf(filter.get(), devnull());
    } catch (const kiln::Error &) {
    }
    return 0;
}
