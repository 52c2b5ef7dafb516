// kiln list [--format table|json] [--quiet]

#include <algorithm>

#include "cli.hpp"
#include "kiln/error.hpp"

namespace kiln::cli {

namespace {

using Row = std::vector<std::string>;

size_t display_width(const std::string &s) {
    size_t n = 0;
    for (unsigned char ch : s) n += (ch & 0xc0) != 0x80;
    return n;
}

// Go text/tabwriter with minwidth 12, padding 3; the last column is not padded.
std::string table(const std::vector<Row> &rows) {
    std::vector<size_t> width(rows[0].size(), 12);
    for (const Row &r : rows)
        for (size_t i = 0; i + 1 < r.size(); i++) width[i] = std::max(width[i], display_width(r[i]) + 3);
    std::string s;
    for (const Row &r : rows) {
        for (size_t i = 0; i + 1 < r.size(); i++) s += r[i] + std::string(width[i] - display_width(r[i]), ' ');
        s += r.back() + "\n";
    }
    return s;
}

std::string list_table(const std::vector<ContainerState> &all) {
    std::vector<Row> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
    for (const ContainerState &c : all)
        rows.push_back({c.id, std::to_string(c.pid), c.status, c.bundle, c.created, c.owner});
    return table(rows);
}

std::string list_json(const std::vector<ContainerState> &all) {
    if (all.empty()) return "null\n";
    std::string s = "[";
    for (size_t i = 0; i < all.size(); i++) s += (i ? "," : "") + state_json(all[i], false, true);
    return s + "]\n";
}

}  // namespace

int cmd_list(Context &c) {
    Options app;
    std::string format = "table";
    bool quiet = false;
    app.value("--format,-f", format, "select one of: table or json (default: \"table\")");
    app.flag("--quiet,-q", quiet, "display only container IDs");
    app.parse(c, {"", 0, 0});
    std::vector<ContainerState> all = kiln::list(c.g);
    // runc lists in directory order as os.ReadDir gives it: sorted by name.
    std::sort(all.begin(), all.end(), [](const ContainerState &a, const ContainerState &b) { return a.id < b.id; });
    if (quiet) {
        std::string s;
        for (const ContainerState &st : all) s += st.id + "\n";
        out(s);
    } else if (format == "table") {
        out(list_table(all));
    } else if (format == "json") {
        out(list_json(all));
    } else {
        throw Error("invalid format option");
    }
    return 0;
}

}  // namespace kiln::cli
