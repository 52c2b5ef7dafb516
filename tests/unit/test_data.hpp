// Access to the files under tests/data/ (KILN_TEST_DATA is set by meson).
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

inline std::string test_data_path(const std::string &name) { return std::string(KILN_TEST_DATA) + "/" + name; }

inline std::string read_test_data(const std::string &name) {
    std::ifstream in(test_data_path(name), std::ios::binary);
    if (!in) throw std::runtime_error("missing test data " + name);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}
