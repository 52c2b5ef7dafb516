#include "kiln/container.hpp"
