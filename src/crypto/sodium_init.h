// libsodium must be initialised once before its RNG and optimised primitives are used.
#pragma once
#include <sodium.h>

#include <cstdlib>

namespace nm::crypto {

// Inline so every translation unit shares the one function-local static.
inline void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no safe way to continue without a working RNG
}

}  // namespace nm::crypto
