// checkpoint and restore (src/container/checkpoint.cpp): CRIU for ordinary
// containers (libcriu, loaded only by these commands), KM's own snapshots
// for containers under the km handler (src/handlers/km_snapshot.cpp).
#pragma once

#include <string>
#include <vector>

#include "kiln/container.hpp"

namespace kiln {

struct CheckpointOptions {
    std::string id;
    std::string image_path;   // absolute; the CLI defaults it to <cwd>/checkpoint
    std::string work_path;    // absolute or "" (criu then writes its log to the image dir)
    std::string parent_path;  // relative to image_path ("" = none)
    std::string page_server;  // ADDRESS:PORT or ""
    std::string manage_cgroups_mode;  // soft|full|strict|ignore or ""
    std::vector<std::string> empty_ns;  // namespace types; only "network"
    bool leave_running = false, tcp_established = false, tcp_skip_in_flight = false, link_remap = false;
    bool ext_unix_sk = false, shell_job = false, lazy_pages = false, file_locks = false, pre_dump = false;
    bool auto_dedup = false;
    int status_fd = -1;
};

struct RestoreOptions {
    std::string id;
    std::string bundle;          // absolute
    std::string image_path;      // absolute
    std::string work_path;       // absolute or ""
    std::string console_socket;  // absolute or ""
    std::string pid_file;        // absolute or ""
    std::string manage_cgroups_mode, lsm_profile, lsm_mount_context;
    std::vector<std::string> empty_ns;
    bool tcp_established = false, ext_unix_sk = false, shell_job = false, file_locks = false;
    bool detach = false, no_subreaper = false, no_pivot = false, auto_dedup = false, lazy_pages = false;
};

// runc's semantics: a running or paused container only; the container is
// gone afterwards unless --leave-running or --pre-dump.
void checkpoint(const Globals &g, const CheckpointOptions &o);
// A new container <id> from the images. Detached: 0 once it runs;
// foreground: the container's exit status.
int restore(const Globals &g, const RestoreOptions &o);

// For `features`: the version of the CRIU checkpoint/restore would use
// ("4.2.1"), "" when there is none (no libcriu, no criu binary answering).
std::string checkpoint_criu_version(const Globals &g);

}  // namespace kiln
