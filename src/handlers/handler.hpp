// Payload handlers: how a container's process (and an `exec`'d one) is run.
// The default handler execs the payload as is; the KM handler (km.cpp) runs
// it under the Kontain monitor. A handler is chosen once per create/run (and
// read back from the state's annotations for exec); its hooks are called at
// fixed points of set-up:
//
//   runtime, after load_config:       edit_spec            (before validate)
//   init, mounts done, host visible:  before_pivot         (before createContainer hooks)
//   init, after pivot_root:           after_pivot
//   init, just before execve:         container_process    (exe already resolved in the container)
//   exec child, inside the container: exec_process
//
// The init runs in a clone() child that shares nothing with the runtime but
// a copy of its memory and fds: whatever a handler prepares in edit_spec
// (open fds, parsed config) is there for the later hooks.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/checkpoint.hpp"
#include "kiln/container.hpp"
#include "kiln/spec.hpp"

namespace kiln {
struct StoredState;
}

namespace kiln::handlers {

class Handler {
public:
    virtual ~Handler() = default;
    virtual const char *name() const { return "default"; }
    virtual void edit_spec(spec::Spec &) {}
    // fds opened in edit_spec that the init uses later: it closes every
    // other inherited fd (CVE-2024-21626).
    virtual std::vector<int> init_fds() const { return {}; }
    virtual void before_pivot(const spec::Spec &, const std::string & /*rootfs*/) {}
    virtual void after_pivot(const spec::Spec &) {}
    // exe: the payload as find_executable resolved it; argv/env as they will be passed.
    // A handler that runs a file of its own sets exe_fd to it: a file opened
    // and checked by the runtime (or copied into a sealed memfd), exec'd
    // through the fd so that nothing the container controls (a path) lies
    // between the check and the exec.
    virtual void container_process(std::string & /*exe*/, int & /*exe_fd*/, std::vector<std::string> & /*argv*/,
                                   std::vector<std::string> & /*env*/) {}
    // exec: called in the runtime, on the host, before the exec child enters
    // the container: open what exec_process will run.
    virtual void prepare_exec() {}
    virtual void exec_process(std::string & /*exe*/, int & /*exe_fd*/, std::vector<std::string> & /*argv*/,
                              std::vector<std::string> & /*env*/) {}
    // Preload (create only): the init execs the process at create time
    // instead of waiting on exec.fifo; the process parks itself until
    // `start` signals it (see starts_by_signal). create returns once
    // wait_parked has seen it parked.
    virtual bool exec_at_create() const { return false; }
    virtual void wait_parked(int /*pid*/) {}
};

// The state annotation naming the handler that ran (as crun does); absent
// for the default handler.
inline constexpr const char *kHandlerAnnotation = "run.oci.handler";

using Annotations = std::map<std::string, std::string>;

// A global flag a handler adds to the CLI (before the command name).
struct GlobalFlag {
    const char *name;  // without "--"
    bool boolean;      // else it takes a value
    const char *help;  // `kiln --help`'s text for it
    void (*apply)(Globals &, const std::string &value);
};

// One payload handler: the table (registry.cpp) lists them, and the core
// (cli, container, spec) asks the table, never a handler by name. A new
// handler is its own file plus one line there. Null members: not used.
struct Entry {
    const char *name;  // as `kiln features` and --version list it
    // create/run: the handler for this container, or nullptr when this one
    // does not claim it. create: true for `create` (a later `start`), false
    // for `run`; id: the container's id; bundle: where a relative root.path starts.
    std::unique_ptr<Handler> (*claim)(const Globals &, const spec::Spec &, const std::string &id, bool create,
                                      const std::string &bundle);
    // exec: the handler that ran the container (its state annotations), or nullptr.
    std::unique_ptr<Handler> (*for_exec)(const Globals &, const std::string &id, const Annotations &);
    // start: the signal that releases a preloaded process, 0 when none.
    int (*start_signal)(const Annotations &);
    // checkpoint: true when the handler took it (its own snapshot, not CRIU).
    bool (*checkpoint)(const StoredState &, const CheckpointOptions &, bool paused);
    // restore: true (and run's status in status) when the image is the handler's.
    bool (*restore)(const Globals &, const RestoreOptions &, int &status);
    // argv[0]'s file name as a trigger (a link named after the handler).
    void (*alias)(std::string_view argv0_name, Globals &);
    const GlobalFlag *flags;  // ends with a null name
};

// The table, in the order `kiln features` lists the handlers; the default
// handler (no claim: every container nobody claims) first.
const std::vector<const Entry *> &registry();

// create/run: the handler for this container (never null). Costs nothing
// for plain containers beyond a few map lookups and whatever the handlers'
// claims cost (km: one failed open() of its config file, see km.cpp).
std::unique_ptr<Handler> select(const Globals &g, const spec::Spec &spec, const std::string &id, bool create,
                                const std::string &bundle);
// exec: the handler that ran the container, from its state annotations.
std::unique_ptr<Handler> for_exec(const Globals &g, const std::string &id, const Annotations &annotations);
// start: the signal that releases a preloaded container's process, 0 when
// `start` goes through exec.fifo as usual.
int start_signal(const Annotations &annotations);
// checkpoint: true when a handler took it; else CRIU's.
bool checkpoint(const StoredState &st, const CheckpointOptions &o, bool paused);
// restore: true (status set) when a handler's image was restored; else CRIU's.
bool restore(const Globals &g, const RestoreOptions &o, int &status);
// argv[0]'s file name: the handler it names, if any, goes into g.
void apply_alias(std::string_view argv0_name, Globals &g);
// The handlers' global flags, in table order; nullptr for another name.
const GlobalFlag *global_flag(std::string_view name);
std::vector<const GlobalFlag *> global_flags();
// The handlers' names joined by sep ("default,km").
std::string names(std::string_view sep);

}  // namespace kiln::handlers
