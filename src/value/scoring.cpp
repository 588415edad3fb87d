// Compiled definitions of weighted scoring, grades and quadrants.
#include "custmine/value/scoring_impl.hpp"
