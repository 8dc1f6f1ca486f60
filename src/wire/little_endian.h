// Every integer on the Net wire is little-endian, written byte by byte (no struct copies,
// no alignment or host-order assumptions).
#pragma once
#include <cstddef>
#include <cstdint>

namespace nm::wire {

template <typename T>
inline void put_le(uint8_t* out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

template <typename T>
inline T get_le(const uint8_t* in) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(in[i]) << (8 * i);
  return v;
}

}  // namespace nm::wire
