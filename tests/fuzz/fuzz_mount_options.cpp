// libFuzzer harness: mounts[].options (one option per input line) ->
// rootfs::parse_options and rootfs::mount_attrs. Besides crashes it checks
// that no MS_* flag is both set and cleared, and that both mount_setattr(2)
// requests (the recursive r* options, and the per-mount flags as mount_attrs
// turns them into one) are ones the kernel accepts: it refuses an atime mode
// in attr_set unless all of MOUNT_ATTR__ATIME is in attr_clr, and a partial
// MOUNT_ATTR__ATIME in attr_clr.
#include <linux/mount.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "linux/rootfs.hpp"

namespace {
void check_atime(unsigned long long set, unsigned long long clr) {
    unsigned long long atime_clr = clr & MOUNT_ATTR__ATIME;
    if (atime_clr && atime_clr != MOUNT_ATTR__ATIME) __builtin_trap();
    if ((set & MOUNT_ATTR__ATIME) && !atime_clr) __builtin_trap();
}
}  // namespace

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
    check_atime(o.attr_set, o.attr_clr);
    struct mount_attr per_mount = kiln::rootfs::mount_attrs(o.flags, o.clear);
    check_atime(per_mount.attr_set, per_mount.attr_clr);
    if (per_mount.attr_set & per_mount.attr_clr & ~static_cast<unsigned long long>(MOUNT_ATTR__ATIME)) __builtin_trap();
    return 0;
}
