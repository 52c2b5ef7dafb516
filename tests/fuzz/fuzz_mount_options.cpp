// libFuzzer harness: mounts[].options (one option per input line) ->
// rootfs::parse_options. Besides crashes it checks two properties: no MS_*
// flag is both set and cleared, and the recursive attributes are ones that
// mount_setattr(2) accepts (the kernel refuses an atime mode in attr_set
// unless all of MOUNT_ATTR__ATIME is in attr_clr, and a partial
// MOUNT_ATTR__ATIME in attr_clr).
#include <linux/mount.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "linux/rootfs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string_view text(reinterpret_cast<const char *>(data), size);
    std::vector<std::string> options;
    for (size_t pos = 0; pos <= text.size();) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        options.emplace_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    kiln::rootfs::MountOptions o = kiln::rootfs::parse_options(options);
    if (o.flags & o.clear) __builtin_trap();
    unsigned long long atime_clr = o.attr_clr & MOUNT_ATTR__ATIME;
    if (atime_clr && atime_clr != MOUNT_ATTR__ATIME) __builtin_trap();
    if ((o.attr_set & MOUNT_ATTR__ATIME) && !atime_clr) __builtin_trap();
    return 0;
}
