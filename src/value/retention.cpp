// Compiled definitions of the value family's period and cohort functions.
#include "custmine/value/periods_impl.hpp"
#include "custmine/value/retention_impl.hpp"
