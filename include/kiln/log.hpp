// runc-compatible logging: --log FILE, --log-format text|json, --debug.
// text: time="2026-11-23T08:45:00Z" level=error msg="container does not exist"
// json: {"level":"error","msg":"container does not exist","time":"2026-11-23T08:45:00Z"}
#pragma once

#include <string>
#include <string_view>

namespace kiln::log {

enum class Level { debug, info, warning, error, fatal };

// Opens the log (O_CREAT|O_WRONLY|O_APPEND|O_CLOEXEC, 0644) lazily on first use.
// format: "" or "text" or "json"; anything else throws Error("invalid log-format: X").
void init(const std::string &path, const std::string &format, bool debug);

void write(Level level, std::string_view msg);
inline void debug(std::string_view m) { write(Level::debug, m); }
inline void info(std::string_view m) { write(Level::info, m); }
inline void warn(std::string_view m) { write(Level::warning, m); }
inline void error(std::string_view m) { write(Level::error, m); }

// A command failed: logs msg at level error; when the log is a file, also prints
// the bare message to stderr (runc's fatal()).
void fatal(std::string_view msg);

bool debug_enabled();

}  // namespace kiln::log
