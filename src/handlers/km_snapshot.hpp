// checkpoint/restore of containers under the km handler through KM's own
// snapshots (km_snapshot.cpp), not CRIU: a km VM's state lives in km, and
// km writes it to an ELF core file ("snapshot") when its management socket
// is asked to (km_cli's protocol, kontainapp/km include/libkontain_mgmt.h);
// `km SNAPSHOT` resumes it.
#pragma once

#include <cstdint>
#include <string>

#include "kiln/checkpoint.hpp"
#include "kiln/spec.hpp"

namespace kiln {
struct StoredState;
}

namespace kiln::handlers::km {

// In the container: a directory on the container's own /dev tmpfs, owned by
// the process user, holds km's management socket (km --mgtpipe) and the
// mount points of the snapshot files.
inline constexpr const char *kMgmtDir = "/dev/.kiln-km";
inline constexpr const char *kMgmtSocket = "/dev/.kiln-km/mgmt.sock";
inline constexpr const char *kSnapshotTarget = "snapshot.kmsnap";  // checkpoint: km writes here (in kMgmtDir)
inline constexpr const char *kResumePath = "/dev/.kiln-km/resume.kmsnap";  // restore: km resumes this
// In the image directory.
inline constexpr const char *kImageSnapshot = "km.kmsnap";
inline constexpr const char *kImageInfo = "kiln-km.json";

// libkontain_mgmt.h: mgmtrequest_t with the snapshot request, and the reply.
inline constexpr int kMgmtReqSnapshot = 0;
struct MgmtRequest {
    int32_t opcode;
    int32_t length;  // of the request body (snapshot_req)
    struct {
        char label[256];
        char description[256];
        int32_t live;  // non-zero: the payload keeps running
        char snapshot_path[1024];
    } snapshot;
};
static_assert(sizeof(MgmtRequest) == 1548, "km's mgmtrequest_t layout");

// The request km_cli would send. Throws Error when the path does not fit.
MgmtRequest snapshot_request(const std::string &label, const std::string &description, bool live,
                             const std::string &path);

// The container can take snapshots: km was started with a management socket
// (km config "snapshots": true) on the container's own /dev.
bool snapshots_possible(const spec::Spec &spec);

// init, after pivot_root: the management directory for the process user.
void prepare_mgmt_dir(const spec::Spec &spec);

// kiln checkpoint of a km container: km writes its snapshot into
// <image>/km.kmsnap (bound into the container for that), kiln-km.json
// records it. --leave-running asks for a live snapshot.
void snapshot_checkpoint(const StoredState &st, const CheckpointOptions &o, bool paused);

// The image directory holds a KM snapshot (kiln-km.json).
bool is_snapshot_image(const std::string &image_dir);

// kiln restore of one: `run` of the bundle with the km handler, whose km
// resumes <image>/km.kmsnap instead of starting the config's process.
int snapshot_restore(const Globals &g, const RestoreOptions &o);

}  // namespace kiln::handlers::km
