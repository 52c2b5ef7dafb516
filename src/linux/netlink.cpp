// The loopback of a new network namespace (two ioctls, as crun does), and
// linux.netDevices (host interfaces moved into the container's namespace)
// through libmnl's rtnetlink.
//
// libmnl is opened with dlopen when a netDevice is moved, not linked: every
// linked DSO costs each kiln command (state and list too) ~45 us and 5 page
// faults at start-up (bench/PROFILE.md, phase 4), and only create/run with
// linux.netDevices speak rtnetlink. The unit tests build messages through
// the same table.
#include <net/if.h>  // before linux/if.h, which then skips what glibc defines
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "kiln/error.hpp"
#include "linux/kernel.hpp"
#include "linux/netlink.hpp"
#include "linux/process.hpp"
#include "util/dl.hpp"
#include "util/fd.hpp"

namespace kiln::netlink {
namespace {

#define KILN_MNL_FUNCTIONS(X) \
    X(mnl_socket_open2) \
    X(mnl_socket_close) \
    X(mnl_socket_bind) \
    X(mnl_socket_sendto) \
    X(mnl_socket_recvfrom) \
    X(mnl_socket_get_portid) \
    X(mnl_cb_run) \
    X(mnl_nlmsg_put_header) \
    X(mnl_nlmsg_put_extra_header) \
    X(mnl_nlmsg_get_payload) \
    X(mnl_nlmsg_get_payload_offset) \
    X(mnl_nlmsg_get_payload_tail) \
    X(mnl_attr_put) \
    X(mnl_attr_put_strz) \
    X(mnl_attr_put_u32) \
    X(mnl_attr_ok) \
    X(mnl_attr_next) \
    X(mnl_attr_get_type) \
    X(mnl_attr_get_payload) \
    X(mnl_attr_get_payload_len) \
    X(mnl_attr_get_u32)

struct Mnl {
#define KILN_MNL(fn) decltype(&::fn) fn = nullptr;
    KILN_MNL_FUNCTIONS(KILN_MNL)
#undef KILN_MNL
    // The errno libmnl sets is that of the libc it was loaded with, which in
    // a static-pie kiln is not kiln's own: read it there.
    int *(*errno_location)() = nullptr;
};

const Mnl &mnl() {
    static Mnl m;
    static bool loaded = false;
    if (loaded) return m;
    dl::Library lib("libmnl.so.0", "libmnl", "linux.netDevices");
#define KILN_SYM(fn) lib.get(m.fn, #fn);
    KILN_MNL_FUNCTIONS(KILN_SYM)
#undef KILN_SYM
    lib.get(m.errno_location, "__errno_location");
    loaded = true;
    return m;
}

// The errno of libmnl's last failed call.
int mnl_errno() { return *mnl().errno_location(); }

using Socket = std::unique_ptr<mnl_socket, decltype(&::mnl_socket_close)>;

Socket open_socket() {
    Socket nl(mnl().mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC), mnl().mnl_socket_close);
    if (!nl) throw_errno("netlink socket", mnl_errno());
    if (mnl().mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) throw_errno("netlink bind", mnl_errno());
    return nl;
}

// Sends one request and reads until its ACK (or, for a dump, its end); each
// message of the answer goes to cb. Throws what with the kernel's errno.
void talk(mnl_socket *nl, nlmsghdr *req, const std::string &what, mnl_cb_t cb = nullptr, void *data = nullptr) {
    static unsigned seq = 0;
    req->nlmsg_seq = ++seq;
    if (mnl().mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) throw_errno(what, mnl_errno());
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    for (;;) {
        ssize_t n = mnl().mnl_socket_recvfrom(nl, buf.data(), buf.size());
        if (n < 0) throw_errno(what, mnl_errno());
        int rc = mnl().mnl_cb_run(buf.data(), static_cast<size_t>(n), req->nlmsg_seq, mnl().mnl_socket_get_portid(nl), cb, data);
        if (rc < 0) throw_errno(what, mnl_errno());
        if (rc == MNL_CB_STOP) return;
    }
}

}  // namespace

nlmsghdr *link_request(char *buf, int index, unsigned flags, unsigned change) {
    auto *nlh = mnl().mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    auto *ifm = static_cast<ifinfomsg *>(mnl().mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = index;
    ifm->ifi_flags = flags;
    ifm->ifi_change = change;
    return nlh;
}

nlmsghdr *address_request(char *buf, int index, const Address &a) {
    auto *nlh = mnl().mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    auto *ifa = static_cast<ifaddrmsg *>(mnl().mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = a.family;
    ifa->ifa_prefixlen = a.prefixlen;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<unsigned>(index);
    mnl().mnl_attr_put(nlh, IFA_LOCAL, a.local.size(), a.local.data());
    mnl().mnl_attr_put(nlh, IFA_ADDRESS, a.local.size(), a.local.data());
    if (!a.broadcast.empty()) mnl().mnl_attr_put(nlh, IFA_BROADCAST, a.broadcast.size(), a.broadcast.data());
    return nlh;
}

// What the runtime-spec says moves with the device: permanent addresses
// (IFA_F_PERMANENT) of global scope.
std::optional<Address> kept_address(const nlmsghdr *nlh, int index) {
    auto *ifa = static_cast<const ifaddrmsg *>(mnl().mnl_nlmsg_get_payload(nlh));
    if (static_cast<int>(ifa->ifa_index) != index || ifa->ifa_scope != RT_SCOPE_UNIVERSE) return std::nullopt;
    uint32_t flags = ifa->ifa_flags;
    Address a;
    a.family = ifa->ifa_family;
    a.prefixlen = ifa->ifa_prefixlen;
    auto *tail = static_cast<const char *>(mnl().mnl_nlmsg_get_payload_tail(nlh));
    for (auto *attr = static_cast<const nlattr *>(mnl().mnl_nlmsg_get_payload_offset(nlh, sizeof(*ifa)));
         mnl().mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char *>(attr))); attr = mnl().mnl_attr_next(attr)) {
        auto *p = static_cast<const char *>(mnl().mnl_attr_get_payload(attr));
        std::vector<char> value(p, p + mnl().mnl_attr_get_payload_len(attr));
        switch (mnl().mnl_attr_get_type(attr)) {
        case IFA_FLAGS: flags = mnl().mnl_attr_get_u32(attr); break;
        case IFA_LOCAL: a.local = value; break;
        case IFA_ADDRESS: if (a.local.empty()) a.local = value; break;
        case IFA_BROADCAST: a.broadcast = value; break;
        }
    }
    if ((flags & IFA_F_PERMANENT) && !a.local.empty()) return a;
    return std::nullopt;
}

namespace {

void set_up(mnl_socket *nl, int index, bool up, const std::string &what) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    talk(nl, link_request(buf.data(), index, up ? IFF_UP : 0, IFF_UP), what);
}

struct AddrDump {
    int index;
    std::vector<Address> kept;
};

int collect_address(const nlmsghdr *nlh, void *data) {
    auto *d = static_cast<AddrDump *>(data);
    if (auto a = kept_address(nlh, d->index)) d->kept.push_back(std::move(*a));
    return MNL_CB_OK;
}

std::vector<Address> global_addresses(mnl_socket *nl, int index, const std::string &what) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    auto *nlh = mnl().mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    auto *ifa = static_cast<ifaddrmsg *>(mnl().mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_UNSPEC;
    AddrDump d{index, {}};
    talk(nl, nlh, what, collect_address, &d);
    return d.kept;
}

void add_address(mnl_socket *nl, int index, const Address &a, const std::string &what) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    talk(nl, address_request(buf.data(), index, a), what);
}

// Back to the runtime's own network namespace on every path.
class NetnsVisit {
public:
    NetnsVisit(int target, const std::string &what) : home_(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) {
        if (!home_ || kernel::get().setns(target, CLONE_NEWNET) < 0) throw_errno(what);
    }
    ~NetnsVisit() {
        if (kernel::get().setns(home_.get(), CLONE_NEWNET) < 0) ::abort();  // never go on in the wrong namespace
    }

private:
    UniqueFd home_;
};

}  // namespace

void loopback_up() {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strcpy(ifr.ifr_name, "lo");
    if (!s || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) throw_errno("bring up loopback");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) throw_errno("bring up loopback");
}

// As runc 1.4's devChangeNetNamespace: down, addresses noted, moved and
// renamed in one request, then the addresses again and up, in the
// container's namespace (a socket opened there).
void move_device(const std::string &name, const std::string &new_name, int netns_fd, const std::string &ns_path) {
    const std::string what = "move netDevice " + name + " to namespace " + ns_path;
    int index = static_cast<int>(::if_nametoindex(name.c_str()));
    if (index == 0) throw_errno("link not found for interface " + name + " on runtime namespace");
    Socket host = open_socket();
    set_up(host.get(), index, false, what + ": fail to set link down");
    std::vector<Address> addrs = global_addresses(host.get(), index, what + ": fail to get ip addresses");
    const std::string &target = new_name.empty() ? name : new_name;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr *req = link_request(buf.data(), index, 0, 0);
    mnl().mnl_attr_put_strz(req, IFLA_IFNAME, target.c_str());
    mnl().mnl_attr_put_u32(req, IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
    talk(host.get(), req, what);

    NetnsVisit in(netns_fd, what);
    Socket nl = open_socket();
    // A name template ("eth%d") is expanded by the kernel; the index moves along.
    int moved = target.find('%') == std::string::npos ? static_cast<int>(::if_nametoindex(target.c_str())) : index;
    char got[IF_NAMESIZE];
    if (moved == 0 || !::if_indextoname(static_cast<unsigned>(moved), got))
        throw_errno("link not found for interface " + target + " on namespace " + ns_path);
    for (auto &a : addrs) add_address(nl.get(), moved, a, what + ": fail to set up address");
    set_up(nl.get(), moved, true, "fail to set up interface " + std::string(got) + " on namespace " + ns_path);
}

}  // namespace kiln::netlink
