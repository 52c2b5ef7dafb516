// The Kontain KM handler: runs the container's payload (and every exec'd
// process) under the km virtual machine monitor. See km.cpp and
// contrib/km/README.md. The pure parts are here so that unit tests reach them.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::handlers {
struct Entry;
}

namespace kiln::handlers::km {

// The km handler's entry in the handler table (registry.cpp).
extern const Entry kEntry;

inline constexpr const char *kKmPath = "/opt/kontain/bin/km";  // inside the container
inline constexpr const char *kDefaultConfig = "/etc/kiln/km.json";
// Globals::handler_options keys: --km-config, and (restore of a KM
// snapshot) the snapshot file on the host that km resumes instead of the
// config's process.
inline constexpr const char *kConfigOption = "km-config";
inline constexpr const char *kResumeOption = "km-resume";
// Kontain's krun reads its non-km exec allowlist from here; kiln takes it as
// a second source (after native_exec), so a host keeps its krun set-up.
inline constexpr const char *kKrunAllowlist = "/var/lib/krun/config";
// An image with this entry at its root runs under km in label mode, as the
// annotation app.kontain.version=1 makes it (krun's label trigger).
inline constexpr const char *kKontainMarker = ".kontain";

// One natively runnable exec tool: a resolved exec path fully matching
// `match` (POSIX extended regex, anchored at both ends) runs `path`
// natively, provided its content has digest `sha256`.
struct NativeTool {
    std::string match, path, sha256;
    std::regex re;
};

// The host's KM config (JSON, see contrib/km/km.json). Never read from the image.
struct Config {
    std::string file;                 // where it came from; "" = built-in defaults
    std::string km = kKmPath;         // km on the host
    std::string km_sha256;            // "" = not checked
    std::vector<std::string> devices = {"/dev/kvm", "/dev/kkm"};  // host nodes; in the container as /dev/<name>
    bool all_containers = false;      // the file itself is a trigger
    bool refuse_unlisted_exec = false;  // "exec_unlisted": "km" (default) or "refuse"
    bool preload = false;             // create runs km --wait-for-signal; start sends SIGUSR1
    bool snapshots = false;           // km gets a management socket: `kiln checkpoint` (km_snapshot.hpp)
    std::vector<std::string> allow_env;  // km control variables let through ("NAME" or "PREFIX*")
    std::vector<NativeTool> native;
    std::string krun_allowlist = kKrunAllowlist;  // "krun_config"; "" = not read
};

// Throws Error("km config FILE: ...") naming the bad field.
Config parse_config(std::string_view text, const std::string &file);

// krun's allowlist file: one "regex:path:sha256" per line, '#' comments,
// blank lines skipped. Throws Error("krun allowlist FILE:LINE: ...").
std::vector<NativeTool> parse_krun_allowlist(std::string_view text, const std::string &file);

// argv for km: [km, payload, argv[1:]...]; argv unchanged when the payload
// is km itself. The docker/podman init shim runs under km and its child is
// not wrapped a second time: [km, /sbin/docker-init, --, km, x] -> [km, /sbin/docker-init, --, x].
std::vector<std::string> km_argv(const std::string &payload, const std::vector<std::string> &argv);

// km's private control variables (KM_EXEC_*, KM_VERBOSE, KM_LOGTO, ...):
// an image or an exec could steer km with them. Removed unless allowed.
bool is_km_control_var(std::string_view name);
void scrub_env(std::vector<std::string> &env, const std::vector<std::string> &allow);

// The first tool whose pattern matches path, or nullptr.
const NativeTool *find_native(const Config &c, const std::string &path);

}  // namespace kiln::handlers::km
