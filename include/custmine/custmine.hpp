// custmine umbrella header for users (never included inside the library).
#pragma once

#include "custmine/core/concepts.hpp"
#include "custmine/core/error.hpp"
#include "custmine/core/factorize.hpp"
#include "custmine/core/matrix.hpp"
#include "custmine/core/random.hpp"
#include "custmine/core/serialize.hpp"
#include "custmine/core/threading.hpp"
#include "custmine/tiering/rfm.hpp"
