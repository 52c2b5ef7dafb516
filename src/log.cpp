// runc-compatible log lines (logrus text and JSON formatters).
#include "kiln/log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "kiln/error.hpp"

namespace kiln::log {

// Also used by the command line (declared in src/cli/cli.hpp).
std::string json_quote(std::string_view s);
std::string go_quote(std::string_view s);

namespace {

struct Sink {
    std::string path;  // "" = stderr
    int fd = -1;       // opened lazily
    bool json = false;
    bool debug = false;
};

Sink &sink() {
    static Sink s;
    return s;
}

const char *level_name(Level l) {
    switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warning: return "warning";
    case Level::error: return "error";
    case Level::fatal: return "fatal";
    }
    return "error";
}

// Length of a valid UTF-8 sequence starting at s[i], or 0 when invalid.
size_t utf8_len(std::string_view s, size_t i) {
    unsigned char c = s[i];
    size_t n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; k++)
        if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
    return n;
}

void append_hex(std::string &out, const char *fmt, unsigned v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, fmt, v);
    out += buf;
}

bool needs_quoting(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '.' || c == '_' || c == '/' || c == '@' || c == '^' || c == '+';
        if (!plain) return true;
    }
    return false;
}

std::string now_rfc3339() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string format_line(Level level, std::string_view msg, bool json) {
    std::string time = now_rfc3339();
    std::string line;
    line.reserve(msg.size() + 64);
    if (json) {
        line += "{\"level\":\"";
        line += level_name(level);
        line += "\",\"msg\":" + json_quote(msg) + ",\"time\":\"" + time + "\"}\n";
    } else {
        line += "time=\"" + time + "\" level=" + level_name(level) + " msg=";
        line += needs_quoting(msg) ? go_quote(msg) : std::string(msg);
        line += '\n';
    }
    return line;
}

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        data.remove_prefix(static_cast<size_t>(n));
    }
}

int sink_fd() {
    Sink &s = sink();
    if (s.path.empty()) return STDERR_FILENO;
    if (s.fd < 0) s.fd = ::open(s.path.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
    return s.fd < 0 ? STDERR_FILENO : s.fd;
}

// The file is opened lazily, maybe after a chdir: pin a relative path now.
std::string absolute(const std::string &path) {
    if (path.empty() || path[0] == '/') return path;
    char buf[4096];
    if (!getcwd(buf, sizeof buf)) return path;
    return std::string(buf) + "/" + path;
}

}  // namespace

// Go's encoding/json string encoding (HTML-safe, like logrus and runc's output).
std::string json_quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (size_t i = 0; i < s.size(); i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            append_hex(out, "\\u%04x", c);
        } else if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (size_t n = utf8_len(s, i); n == 0) {
            out += "\\ufffd";
        } else if (n == 3 && c == 0xe2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(s[i + 2]) & 0xfe) == 0xa8) {
            append_hex(out, "\\u%04x", 0x2028u + (static_cast<unsigned char>(s[i + 2]) & 1));
            i += 2;
        } else {
            out.append(s.substr(i, n));
            i += n - 1;
        }
    }
    out += '"';
    return out;
}

// Go's strconv.Quote (what logrus's text formatter uses via %q).
std::string go_quote(std::string_view s) {
    static const char esc[] = "abtnvfr";  // \a=7 ... \r=13
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (size_t i = 0; i < s.size(); i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c >= 7 && c <= 13) {
            out += '\\';
            out += esc[c - 7];
        } else if (c < 0x20 || c == 0x7f) {
            append_hex(out, "\\x%02x", c);
        } else if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (size_t n = utf8_len(s, i); n == 0) {
            append_hex(out, "\\x%02x", c);
        } else {
            out.append(s.substr(i, n));
            i += n - 1;
        }
    }
    out += '"';
    return out;
}

void init(const std::string &path, const std::string &format, bool debug) {
    Sink &s = sink();
    if (s.fd >= 0 && s.path != path) {
        ::close(s.fd);
        s.fd = -1;
    }
    s.path = absolute(path);
    s.debug = debug;
    s.json = format == "json";
    if (!format.empty() && format != "text" && format != "json") throw Error("invalid log-format: " + format);
}

void write(Level level, std::string_view msg) {
    Sink &s = sink();
    if (level == Level::debug && !s.debug) return;
    write_all(sink_fd(), format_line(level, msg, s.json));
}

void fatal(std::string_view msg) {
    write(Level::error, msg);
    if (sink().path.empty()) return;
    std::string line(msg);
    line += '\n';
    write_all(STDERR_FILENO, line);
}

bool debug_enabled() { return sink().debug; }

}  // namespace kiln::log
