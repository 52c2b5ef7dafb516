#include "kiln/log.hpp"
