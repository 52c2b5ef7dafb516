// A library kiln opens with dlopen only where a feature needs it
// (libsystemd for --systemd-cgroup, libmnl for linux.netDevices), and its
// functions, each missing one a clear error naming the feature. Never
// closed: the tables that hold its functions live as long as kiln.
#pragma once

#include <dlfcn.h>

#include <string>

#include "kiln/error.hpp"

namespace kiln::dl {

class Library {
public:
    // Error "<who> needs <name> (<soname>): <why>" when it cannot be loaded.
    Library(const char *soname, const char *name, const char *who) : soname_(soname), who_(who) {
        handle_ = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!handle_) throw Error(who_ + " needs " + name + " (" + soname_ + "): " + ::dlerror());
    }
    // fn = the library's symbol; Error "<who>: <soname> lacks <symbol>".
    template <class F>
    void get(F &fn, const char *symbol) const {
        fn = reinterpret_cast<F>(::dlsym(handle_, symbol));
        if (!fn) throw Error(who_ + ": " + soname_ + " lacks " + symbol);
    }

private:
    std::string soname_, who_;
    void *handle_;
};

}  // namespace kiln::dl
