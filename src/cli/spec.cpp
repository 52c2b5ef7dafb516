// kiln spec [--bundle DIR] [--rootless]: writes a default config.json.
#include <fcntl.h>
#include <unistd.h>


#include "cli.hpp"
#include "kiln/error.hpp"
#include "kiln/spec.hpp"

namespace kiln::cli {

namespace {

void write_config(const std::string &bundle, const std::string &text) {
    int dir = ::open(bundle.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) throw_errno("chdir " + bundle);
    int fd = ::openat(dir, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    int err = errno;
    ::close(dir);
    if (fd < 0 && err == EEXIST) throw Error("File config.json exists. Remove it first");
    if (fd < 0) throw_errno("open config.json", err);
    std::string_view rest(text);
    while (!rest.empty()) {
        ssize_t n = ::write(fd, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            err = errno;
            ::close(fd);
            throw_errno("write config.json", err);
        }
        rest.remove_prefix(static_cast<size_t>(n));
    }
    if (::close(fd) < 0) throw_errno("close config.json");
}

}  // namespace

int cmd_spec(Context &c) {
    Options app;
    std::string bundle;
    bool rootless = false;
    app.value("--bundle,-b", bundle, "path to the root of the bundle directory");
    app.flag("--rootless", rootless, "generate a configuration for a rootless container");
    app.parse(c, {"", 0, 0});
    write_config(bundle.empty() ? "." : bundle, spec::default_config_json(rootless, getuid(), getgid()));
    return 0;
}

}  // namespace kiln::cli
