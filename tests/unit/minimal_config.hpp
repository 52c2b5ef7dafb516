// The smallest config the create/run and restore option checks accept:
// a root, and a process `sh` with or without a terminal.
#pragma once

#include "kiln/spec.hpp"

inline kiln::spec::Spec minimal_config(bool terminal) {
    kiln::spec::Spec s;
    s.root = kiln::spec::Root{};
    s.root->path = "rootfs";
    s.process = kiln::spec::Process{};
    s.process->args = {"sh"};
    s.process->terminal = terminal;
    return s;
}
