// The container's own session keyring (runc's "_ses.<id>"): without it every
// container shares the engine's session keyring, and a key one container
// adds can be read by the next.
#pragma once

#include <string>

namespace kiln::keyring {

// Joins the session keyring "_ses.<id>", made when missing. The init
// (make_searchable) then adds search permission for the keyring's user, or,
// with a user namespace, for others, so that `exec` can join the same one
// by name, as runc does. A kernel without keyrings (ENOSYS) is not an error.
void join_session(const std::string &id, bool make_searchable, bool in_user_ns);

}  // namespace kiln::keyring
