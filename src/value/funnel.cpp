// Compiled definitions of the sales funnel.
#include "custmine/value/funnel_impl.hpp"
