// Work done in a forked child, e.g. to enter another namespace without
// changing ours (setns of a mount namespace, unshare).
#pragma once

#include <functional>

namespace kiln {

// Runs fn in a child process and waits for it; an exception thrown there
// comes back here as Error(its message). fn must not return into our
// caller's stack frames in the child (it is the child's whole life).
void in_child(const std::function<void()> &fn);

}  // namespace kiln
