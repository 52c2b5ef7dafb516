#include "linux/keyring.hpp"

#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "kiln/error.hpp"
#include "linux/kernel.hpp"

namespace kiln::keyring {
namespace {

long keyctl(int op, unsigned long a, unsigned long b = 0, unsigned long c = 0) {
    return kernel::get().keyctl(op, a, b, c);
}

// KEYCTL_DESCRIBE says "type;uid;gid;perm;description", perm in hex.
unsigned long current_perm(long serial) {
    char buf[512];
    long n = keyctl(KEYCTL_DESCRIBE, static_cast<unsigned long>(serial), reinterpret_cast<unsigned long>(buf), sizeof buf);
    if (n < 0) throw_errno("unable to mod keyring permissions");
    buf[std::min<long>(n, sizeof buf - 1)] = '\0';
    const char *p = buf;
    for (int field = 0; field < 3 && p; field++)
        if ((p = std::strchr(p, ';'))) p++;
    if (!p) throw Error("unable to mod keyring permissions: unexpected key description");
    return std::strtoul(p, nullptr, 16);
}

}  // namespace

void join_session(const std::string &id, bool make_searchable, bool in_user_ns) {
    std::string name = "_ses." + id;
    long serial = keyctl(KEYCTL_JOIN_SESSION_KEYRING, reinterpret_cast<unsigned long>(name.c_str()));
    if (serial < 0) {
        if (errno == ENOSYS) return;  // no keyrings in this kernel: runc carries on too
        throw_errno("unable to join session keyring: unable to create session key");
    }
    if (!make_searchable) return;
    // runc's bits: search for the keyring's user (0x080000), or for others
    // (0x08) in a user namespace, where the user differs from the host's.
    unsigned long add = in_user_ns ? 0x8 : 0x80000;
    if (keyctl(KEYCTL_SETPERM, static_cast<unsigned long>(serial), current_perm(serial) | add) < 0)
        throw_errno("unable to mod keyring permissions");
}

}  // namespace kiln::keyring
