#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "kiln/error.hpp"
#include "linux/process.hpp"

namespace kiln::netlink {

void loopback_up() {
    std::unique_ptr<mnl_socket, int (*)(mnl_socket *)> nl(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC),
                                                           mnl_socket_close);
    if (!nl) throw_errno("netlink socket");
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) throw_errno("netlink bind");

    char buf[MNL_SOCKET_BUFFER_SIZE];
    auto *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = 1;
    auto *ifm = static_cast<ifinfomsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = 1;  // "lo" is always index 1 in a new namespace
    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
    if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) throw_errno("netlink send");

    ssize_t n = mnl_socket_recvfrom(nl.get(), buf, sizeof buf);
    if (n < 0) throw_errno("netlink receive");
    if (mnl_cb_run(buf, static_cast<size_t>(n), 1, mnl_socket_get_portid(nl.get()), nullptr, nullptr) < 0)
        throw_errno("bring up loopback");
}

}  // namespace kiln::netlink
