#include "container/seccomp_agent.hpp"

#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "linux/terminal.hpp"

namespace kiln::seccomp_agent {

void hand_over(const spec::Seccomp &s, int notify_fd, pid_t pid, const std::string &state_json) {
    if (s.listenerPath.empty()) throw Error("seccomp: SCMP_ACT_NOTIFY without linux.seccomp.listenerPath");
    json::Writer w;
    w.begin_object()
        .key("ociVersion").string(spec::kSpecVersion)
        .key("fds").begin_array().string("seccompFd").end_array()
        .key("pid").integer(pid)
        .key("metadata").string(s.listenerMetadata)
        .end_object();
    std::string text = w.str();
    text.pop_back();  // the state object is JSON already: splice it in
    text += ",\"state\":" + state_json + "}";
    UniqueFd sock;
    try {
        sock.reset(terminal::connect_socket(s.listenerPath, "seccomp agent"));
    } catch (const Error &e) {
        // runc's words, then the field
        throw Error("failed to connect with seccomp agent specified in the seccomp profile "
                    "(linux.seccomp.listenerPath): " + std::string(e.what()));
    }
    terminal::send_fd(sock.get(), notify_fd, text);
}

}  // namespace kiln::seccomp_agent
