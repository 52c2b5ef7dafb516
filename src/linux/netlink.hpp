// The rtnetlink messages netlink.cpp sends and the answers it reads, built
// and judged apart from the socket, for unit tests (loopback_up and
// move_device themselves are declared in process.hpp).
#pragma once

#include <optional>
#include <vector>

struct nlmsghdr;

namespace kiln::netlink {

struct Address {
    unsigned char family = 0, prefixlen = 0;
    std::vector<char> local, broadcast;
};

// RTM_NEWLINK for the interface index: flags (IFF_UP...) under the mask change.
nlmsghdr *link_request(char *buf, int index, unsigned flags, unsigned change);
// RTM_NEWADDR putting a on the interface index.
nlmsghdr *address_request(char *buf, int index, const Address &a);
// Of one RTM_NEWADDR message of a dump: the address, when it is a permanent
// address of global scope on index (what moves with a netDevice).
std::optional<Address> kept_address(const nlmsghdr *nlh, int index);

}  // namespace kiln::netlink
