#include "util/exe.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace kiln {

bool executable(const std::string &p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

std::string find_executable(const std::string &name, const std::string &dirs) {
    for (size_t pos = 0; pos <= dirs.size();) {
        size_t end = dirs.find(':', pos);
        if (end == std::string::npos) end = dirs.size();
        std::string dir = dirs.substr(pos, end - pos);
        pos = end + 1;
        if (dir.empty()) continue;
        std::string cand = dir + "/" + name;
        if (executable(cand)) return cand;
    }
    return "";
}

}  // namespace kiln
