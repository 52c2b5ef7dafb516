// kiln ps [--format table|json] <container-id> [ps options]

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "cli.hpp"
#include "kiln/error.hpp"
#include "util/child.hpp"
#include "util/fd.hpp"

namespace kiln::cli {
namespace {

// Output of the host's `ps ARGS` (runc shells out the same way: the table's
// columns are whatever ps prints).
std::string run_ps(const std::vector<std::string> &args) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd r(p[0]), w(p[1]);
    pid_t pid = child::fork();
    if (pid == 0) {
        child::run(-1, [&] {
            ::dup2(w.get(), 1);
            std::vector<char *> argv{const_cast<char *>("ps")};
            for (auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
            argv.push_back(nullptr);
            ::execvp("ps", argv.data());
            ::_exit(127);
        });
    }
    w.reset();
    std::string out = read_fd(r.get());
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("ps failed: exit status " + std::to_string(WEXITSTATUS(status)));
    return out;
}

// The header line and the lines whose PID column is one of pids.
std::string filter_table(const std::string &table, const std::vector<int> &pids) {
    std::istringstream in(table);
    std::string header, line, out;
    std::getline(in, header);
    std::istringstream h(header);
    std::string field;
    int column = -1;
    for (int i = 0; h >> field; i++)
        if (field == "PID") column = i;
    if (column < 0) throw Error("couldn't find PID field in ps output");
    out = header + "\n";
    while (std::getline(in, line)) {
        std::istringstream l(line);
        for (int i = 0; l >> field; i++) {
            if (i != column) continue;
            if (std::find(pids.begin(), pids.end(), std::atoi(field.c_str())) != pids.end()) out += line + "\n";
            break;
        }
    }
    return out;
}

}  // namespace

int cmd_ps(Context &c) {
    Options app;
    std::string format = "table";
    app.value("--format,-f", format, "select one of: table or json (default: \"table\")");
    auto pos = app.parse(c, {"<container-id> [ps options]", 1, -1, true});
    auto pids = kiln::pids(c.g, pos[0]);
    if (format == "json") {
        std::string s = "[";
        for (size_t i = 0; i < pids.size(); i++) s += (i ? "," : "") + std::to_string(pids[i]);
        out(s + "]\n");
        return 0;
    }
    if (format != "table") throw kiln::Error("invalid format option");
    std::vector<std::string> args(pos.begin() + 1, pos.end());
    if (args.empty()) args = {"-ef"};
    out(filter_table(run_ps(args), pids));
    return 0;
}

}  // namespace kiln::cli
