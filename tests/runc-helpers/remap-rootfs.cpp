// remap-rootfs BUNDLE: chown the bundle's root filesystem from host ids to
// the ids its user namespace maps them to (linux.uidMappings/gidMappings),
// as runc 1.3's tests/cmd/remap-rootfs (Go >= 1.22) does for its tests:
// symlinks and hard links seen before are skipped, set-id bits restored,
// files whose ids are not mapped reported and left alone.
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "kiln/spec.hpp"

namespace {

const std::vector<kiln::spec::IdMapping> *uid_map, *gid_map;
std::set<std::pair<dev_t, ino_t>> seen;
std::string root;

long to_host(const std::vector<kiln::spec::IdMapping> &maps, uint32_t id) {
    for (auto &m : maps)
        if (m.containerID <= id && id < static_cast<uint64_t>(m.containerID) + m.size) return static_cast<long>(m.hostID) + id;
    return -1;
}

int remap_one(const char *path, const struct stat *st, int, struct FTW *) {
    if (S_ISLNK(st->st_mode) || !seen.insert({st->st_dev, st->st_ino}).second) return 0;
    long uid = to_host(*uid_map, st->st_uid), gid = to_host(*gid_map, st->st_gid);
    if (uid < 0 || gid < 0) {
        std::string rel = path + root.size();
        std::printf("skipping file %s: cannot remap user %u:%u -> %ld:%ld\n", rel.empty() ? "/" : rel.c_str(),
                    st->st_uid, st->st_gid, uid, gid);
        return 0;
    }
    if (::lchown(path, static_cast<uid_t>(uid), static_cast<gid_t>(gid)) < 0 ||
        ::chmod(path, st->st_mode & 07777) < 0) {  // chown cleared the set-id bits
        std::fprintf(stderr, "error: %s: %s\n", path, std::strerror(errno));
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "error: exactly one bundle argument must be provided\n");
        return 1;
    }
    try {
        kiln::spec::Spec spec = kiln::spec::load_config(argv[1]);
        if (!spec.root) throw std::runtime_error("invalid config.json: root section is null");
        if (!spec.linux) throw std::runtime_error("invalid config.json: linux section is null");
        if (spec.linux->uidMappings.empty() && spec.linux->gidMappings.empty()) {
            std::printf("skipping remapping -- no userns mappings specified\n");
            return 0;
        }
        uid_map = &spec.linux->uidMappings;
        gid_map = &spec.linux->gidMappings;
        root = spec.root->path[0] == '/' ? spec.root->path : std::string(argv[1]) + "/" + spec.root->path;
        while (root.size() > 1 && root.back() == '/') root.pop_back();
        if (::nftw(root.c_str(), remap_one, 64, FTW_PHYS) != 0) return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
