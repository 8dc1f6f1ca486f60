// Structs crossing the C ABI through the caller's size (include/netmesh.h, "ABI stability"):
// configs are read through their struct_size, outputs written through out_size/elem_size.
// Generic over the field lists of struct_fields.h (Fields<T>).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "capi/struct_fields.h"
#include "node/status.h"

namespace nm::capi {

// No struct of the ABI comes near this: a larger size is garbage (an uninitialised
// struct_size), refused before anything reads that far.
inline constexpr size_t kMaxStructSize = 4096;

// Checks a caller's size for T: at least T's first versioned size, on a field boundary
// when smaller than ours, and plausible when larger.
template <class T>
nm_status check_size(size_t size, const char* what) {
  static_assert(sizeof(T) <= kMaxStructSize / 4, "room for growth");
  if (size > kMaxStructSize)
    return node::fail(NM_ERR_INVALID_ARGUMENT,
                      std::string(what) + ": size " + std::to_string(size) + " is implausible for " +
                          Fields<T>::kName + " (uninitialised? pass sizeof)");
  if (is_version_size<T>(size)) return NM_OK;
  return node::fail(NM_ERR_INVALID_ARGUMENT,
                    std::string(what) + ": size " + std::to_string(size) + " is not a size " +
                        Fields<T>::kName + " ever had (at least " +
                        std::to_string(Fields<T>::kFirstSize) + ", pass sizeof)");
}

// Reserved bytes of `value` (its first `size` bytes) are zero.
template <class T>
nm_status check_reserved(const T& value, size_t size, const char* what) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
  for (const FieldSpan& f : Fields<T>::kSpans) {
    if (f.role != Role::RESERVED || f.offset >= size) continue;
    for (size_t i = f.offset; i < std::min(f.offset + f.size, size); ++i)
      if (bytes[i] != 0)
        return node::fail(NM_ERR_INVALID_ARGUMENT,
                          std::string(what) + ": reserved byte at offset " + std::to_string(i) +
                              " is not zero");
  }
  return NM_OK;
}

// *_init: `defaults` written through the caller's size; struct_size = that size; bytes
// beyond our struct zeroed.
template <class T>
nm_status init_sized(T* out, size_t size, const T& defaults, const char* what) {
  static_assert(has_size_field<T>());
  if (!out) return node::fail(NM_ERR_INVALID_ARGUMENT, std::string(what) + " must not be NULL");
  if (nm_status s = check_size<T>(size, what); s != NM_OK) return s;
  std::memcpy(out, &defaults, std::min(size, sizeof(T)));
  if (size > sizeof(T)) std::memset(reinterpret_cast<uint8_t*>(out) + sizeof(T), 0, size - sizeof(T));
  uint32_t struct_size = static_cast<uint32_t>(size);
  std::memcpy(out, &struct_size, sizeof struct_size);
  return NM_OK;
}

// A caller's config: its first struct_size bytes over `out`, which holds the defaults on
// entry (so fields beyond an older caller's struct keep them). A newer caller's bytes
// beyond our struct must be zero: a field we do not know was set.
template <class T>
nm_status read_sized(const T* in, T& out, const char* what) {
  static_assert(has_size_field<T>());
  if (!in) return node::fail(NM_ERR_INVALID_ARGUMENT, std::string(what) + " must not be NULL");
  uint32_t size;
  std::memcpy(&size, in, sizeof size);
  if (size == 0) {  // nm_x_t is initialised by nm_x_init
    std::string type = Fields<T>::kName;
    return node::fail(NM_ERR_INVALID_ARGUMENT, std::string(what) + ".struct_size is 0: initialise the " +
                                                   type + " with " + type.substr(0, type.size() - 2) +
                                                   "_init first");
  }
  if (nm_status s = check_size<T>(size, what); s != NM_OK) return s;
  const auto* bytes = reinterpret_cast<const uint8_t*>(in);
  for (size_t i = sizeof(T); i < size; ++i)
    if (bytes[i] != 0)
      return node::fail(NM_ERR_INVALID_ARGUMENT,
                        std::string(what) + ": byte " + std::to_string(i) + " of a " +
                            std::to_string(size) + "-byte struct is set, but this library's " +
                            Fields<T>::kName + " has " + std::to_string(sizeof(T)) +
                            " bytes (a field of a newer netmesh.h; upgrade libnetmesh)");
  std::memcpy(&out, in, std::min<size_t>(size, sizeof(T)));
  if (nm_status s = check_reserved(out, size, what); s != NM_OK) return s;
  uint32_t ours = sizeof(T);
  std::memcpy(&out, &ours, sizeof ours);
  return NM_OK;
}

// One output struct through the caller's size (already checked): our bytes up to it, zeros
// beyond our struct.
template <class T>
void copy_out(const T& value, void* out, size_t size) {
  std::memcpy(out, &value, std::min(size, sizeof(T)));
  if (size > sizeof(T)) std::memset(static_cast<uint8_t*>(out) + sizeof(T), 0, size - sizeof(T));
}

template <class T>
nm_status write_sized(const T& value, T* out, size_t size, const char* what) {
  if (!out) return node::fail(NM_ERR_INVALID_ARGUMENT, std::string(what) + " must not be NULL");
  if (nm_status s = check_size<T>(size, what); s != NM_OK) return s;
  copy_out(value, out, size);
  return NM_OK;
}

// A list into a caller array of `capacity` elements of `elem_size` bytes: up to capacity
// entries, and the full count (capacity 0 asks for the count only).
template <class T>
nm_status write_list(const std::vector<T>& all, T* out, size_t capacity, size_t elem_size,
                     size_t* out_count, const char* what) {
  if (!out_count) return node::fail(NM_ERR_INVALID_ARGUMENT, "out_count must not be NULL");
  if (capacity > 0 && !out) return node::fail(NM_ERR_INVALID_ARGUMENT, std::string(what) + " must not be NULL");
  if (nm_status s = check_size<T>(elem_size, what); s != NM_OK) return s;
  *out_count = all.size();
  size_t n = std::min(capacity, all.size());
  auto* base = reinterpret_cast<uint8_t*>(out);
  for (size_t i = 0; i < n; ++i) copy_out(all[i], base + i * elem_size, elem_size);
  return NM_OK;
}

}  // namespace nm::capi
