// Linkage of the value family's non-template functions: defined in the *_impl.hpp
// headers, compiled once in src/value/*.cpp, or inline everywhere when the library is
// used header-only (CUSTMINE_HEADER_ONLY).
#pragma once

#ifdef CUSTMINE_HEADER_ONLY
#define CUSTMINE_VALUE_API inline
#else
#define CUSTMINE_VALUE_API
#endif
