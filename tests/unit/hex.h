// Hex strings to bytes and back, for the tests that check wire and crypto vectors.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nm::test {

inline std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

template <typename C>
std::string to_hex(const C& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

// A 32-byte key (crypto::Key32) from 64 hex digits.
inline std::array<uint8_t, 32> key_from_hex(const std::string& hex) {
  std::array<uint8_t, 32> k{};
  const auto v = from_hex(hex);
  std::copy_n(v.begin(), std::min(v.size(), k.size()), k.begin());
  return k;
}

}  // namespace nm::test
