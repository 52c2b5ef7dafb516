// rootfs::parse_options: mount(2) flags, propagation and mount_setattr(2)
// attributes from runtime-spec mount options.
#include <catch2/catch.hpp>

#include <linux/mount.h>
#include <sys/mount.h>

#include "linux/rootfs.hpp"

using kiln::rootfs::parse_options;

TEST_CASE("parse_options: flags, the last of a pair wins, unknown ones are data") {
    auto o = parse_options({"ro", "nosuid", "rw", "rbind", "mode=755", "size=1k", "rprivate"});
    CHECK(o.flags == (MS_NOSUID | MS_BIND | MS_REC));
    CHECK(o.clear == MS_RDONLY);
    CHECK(o.propagation == (MS_PRIVATE | MS_REC));
    CHECK(o.data == "mode=755,size=1k");
}

TEST_CASE("parse_options: recursive atime modes clear the whole MOUNT_ATTR__ATIME field") {
    // mount_setattr refuses an atime mode without all of MOUNT_ATTR__ATIME in
    // attr_clr, and a part of it there (fuzz_mount_options found "ratime").
    auto o = parse_options({"rnoatime"});
    CHECK(o.attr_set == MOUNT_ATTR_NOATIME);
    CHECK(o.attr_clr == MOUNT_ATTR__ATIME);
    o = parse_options({"ratime"});
    CHECK(o.attr_set == 0);
    CHECK(o.attr_clr == MOUNT_ATTR__ATIME);
    o = parse_options({"rnoatime", "rstrictatime", "rro"});
    CHECK(o.attr_set == (MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_RDONLY));
    CHECK(o.attr_clr == MOUNT_ATTR__ATIME);
    o = parse_options({"rstrictatime", "rrelatime"});  // MOUNT_ATTR_RELATIME is 0
    CHECK(o.attr_set == 0);
    CHECK(o.attr_clr == MOUNT_ATTR__ATIME);
    o = parse_options({"rnoatime", "rnostrictatime", "rnodiratime", "rsuid"});
    CHECK(o.attr_set == MOUNT_ATTR_NODIRATIME);
    CHECK(o.attr_clr == (MOUNT_ATTR__ATIME | MOUNT_ATTR_NOSUID));
}
