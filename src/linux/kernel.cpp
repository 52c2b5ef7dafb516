#include "linux/kernel.hpp"

namespace kiln::kernel {
namespace {
RealKernel real;
}

namespace detail {
Kernel *current = &real;
}

Kernel *set(Kernel *k) {
    Kernel *old = detail::current;
    detail::current = k ? k : &real;
    return old;
}

}  // namespace kiln::kernel
