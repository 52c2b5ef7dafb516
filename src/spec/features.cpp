#include "kiln/spec.hpp"
