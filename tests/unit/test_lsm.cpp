// src/linux/lsm.cpp without root and without an LSM: the attr files are
// temp files, handed over a SOCK_SEQPACKET pair the way the runtime passes
// them to exec's process, and written by set_exec_labels.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "kiln/error.hpp"
#include "linux/process.hpp"
#include "linux/sync.hpp"
#include "scratch_dir.hpp"
#include "unix_socket.hpp"
#include "util/fd.hpp"

using kiln::UniqueFd;
namespace process = kiln::process;
namespace ksync = kiln::sync;

namespace {

UniqueFd open_new(const std::string &path) {
    UniqueFd fd(::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(fd);
    return fd;
}

std::string contents(const std::string &path) {
    std::string s;
    REQUIRE(kiln::try_read_file(path, s));
    return s;
}

kiln::spec::Process labelled(const std::string &apparmor, const std::string &selinux) {
    kiln::spec::Process p;
    p.apparmorProfile = apparmor;
    p.selinuxLabel = selinux;
    return p;
}

}  // namespace

TEST_CASE("lsm: wants_exec_labels", "[lsm]") {
    CHECK_FALSE(process::wants_exec_labels(labelled("", "")));
    CHECK(process::wants_exec_labels(labelled("prof", "")));
    CHECK(process::wants_exec_labels(labelled("", "system_u:system_r:container_t:s0")));
}

TEST_CASE("lsm: no labels: nothing opened, nothing written", "[lsm]") {
    auto p = labelled("", "");
    process::ExecLabels l = process::open_exec_labels(p);
    CHECK_FALSE(l.apparmor);
    CHECK_FALSE(l.selinux);
    CHECK(l.late == nullptr);
    process::set_exec_labels(l);
}

TEST_CASE("lsm: a label the host cannot apply is an error", "[lsm]") {
    std::string v;
    if (!kiln::try_read_file("/sys/module/apparmor/parameters/enabled", v) || v.rfind("Y", 0) != 0) {
        REQUIRE_THROWS_WITH(process::open_exec_labels(labelled("myprof", "")),
                            "apparmor profile \"myprof\" specified but AppArmor is not enabled on this system");
    }
    if (::access("/sys/fs/selinux/enforce", F_OK) != 0) {
        REQUIRE_THROWS_WITH(process::open_exec_labels(labelled("", "lab")),
                            "selinux label \"lab\" specified but SELinux is not enabled on this system");
    }
}

TEST_CASE("lsm: attr files handed over and written", "[lsm]") {
    kiln::test::ScratchDir dir;
    std::string aa = dir.path + "/apparmor", se = dir.path + "/selinux";
    kiln::test::SocketPair sp(SOCK_SEQPACKET);
    process::ExecLabels sent;
    sent.apparmor = open_new(aa);
    sent.selinux = open_new(se);
    SECTION("both") {
        REQUIRE(process::send_exec_labels(sp.a.get(), ksync::Msg::Labels, sent));
        auto p = labelled("myprof", "system_u:system_r:container_t:s0");
        process::ExecLabels got;
        CHECK(process::receive_exec_labels(sp.b.get(), p, got) == ksync::Msg::Labels);
        REQUIRE(got.apparmor);
        REQUIRE(got.selinux);
        CHECK(got.apparmor_value == "exec myprof");
        CHECK(got.selinux_value == "system_u:system_r:container_t:s0");
        process::set_exec_labels(got);
        CHECK_FALSE(got.apparmor);
        CHECK_FALSE(got.selinux);
        CHECK(contents(aa) == "exec myprof");
        CHECK(contents(se) == "system_u:system_r:container_t:s0");
    }
    SECTION("selinux only: the one fd is the selinux file") {
        sent.apparmor.reset();
        REQUIRE(process::send_exec_labels(sp.a.get(), ksync::Msg::Labels, sent));
        auto p = labelled("", "lab");
        process::ExecLabels got;
        CHECK(process::receive_exec_labels(sp.b.get(), p, got) == ksync::Msg::Labels);
        CHECK_FALSE(got.apparmor);
        process::set_exec_labels(got);
        CHECK(contents(se) == "lab");
        CHECK(contents(aa).empty());
    }
    SECTION("fewer files than labels") {
        sent.selinux.reset();
        REQUIRE(process::send_exec_labels(sp.a.get(), ksync::Msg::Labels, sent));
        auto p = labelled("myprof", "lab");
        process::ExecLabels got;
        REQUIRE_THROWS_WITH(process::receive_exec_labels(sp.b.get(), p, got),
                            "the runtime did not pass the LSM attribute files");
    }
    SECTION("a message with text, or EOF, is not the labels") {
        REQUIRE(ksync::send(sp.a.get(), ksync::Msg::Pid, "12"));
        auto p = labelled("myprof", "");
        process::ExecLabels got;
        CHECK(process::receive_exec_labels(sp.b.get(), p, got) == ksync::Msg::None);
        sp.a.reset();
        CHECK(process::receive_exec_labels(sp.b.get(), p, got) == ksync::Msg::None);
        CHECK_FALSE(got.apparmor);
    }
}

TEST_CASE("lsm: set_exec_labels reports a failed write", "[lsm]") {
    kiln::test::ScratchDir dir;
    process::ExecLabels l;
    // A read-only fd: the write fails as the LSM's refusal would.
    std::string path = dir.path + "/ro";
    open_new(path);
    l.selinux.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(l.selinux);
    l.selinux_value = "lab";
    REQUIRE_THROWS_WITH(process::set_exec_labels(l), Catch::Contains("write /proc/thread-self/attr/exec"));
}
