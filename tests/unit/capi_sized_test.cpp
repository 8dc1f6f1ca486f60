// The size handshake of the C ABI (src/capi/sized.h) across struct versions, with a struct
// that has already grown once: V1 is its first released layout, V2 the current one, V3 a
// newer header's. The real structs are all at their first version (0.2.0), so this is where
// "an older caller's struct: the fields it lacks keep their defaults" runs today; the
// programs of tests/abi/ take over once a real struct grows.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "capi/sized.h"

namespace {

struct V1 {  // the first versioned layout: 16 bytes
  uint32_t struct_size;
  uint32_t a;
  uint64_t b;
};
struct V2 {  // current: two fields appended (and explicit padding)
  uint32_t struct_size;
  uint32_t a;
  uint64_t b;
  uint32_t c;
  uint32_t reserved0;
  uint64_t d;
};
struct V3 {  // a newer header's
  V2 v2;
  uint64_t e;
};

}  // namespace

#define NM_FIELDS_V2(X, T) \
  X(T, SIZE, struct_size)  \
  X(T, COPY, a)            \
  X(T, COPY, b)            \
  X(T, COPY, c)            \
  X(T, RESERVED, reserved0) \
  X(T, COPY, d)

namespace nm::capi {
NM_DECLARE_FIELDS(V2, sizeof(V1));
NM_CHECK_FIELDS(V2);
}  // namespace nm::capi

namespace {

using nm::capi::init_sized;
using nm::capi::read_sized;
using nm::capi::write_list;
using nm::capi::write_sized;

constexpr V2 kDefaults{sizeof(V2), 1, 2, 3, 0, 4};

TEST(CapiSized, VersionSizesAreFieldEnds) {
  using nm::capi::is_version_size;
  EXPECT_FALSE(is_version_size<V2>(8));
  EXPECT_TRUE(is_version_size<V2>(16));   // V1
  EXPECT_FALSE(is_version_size<V2>(18));  // inside c
  EXPECT_TRUE(is_version_size<V2>(20));   // a version that ended with c
  EXPECT_FALSE(is_version_size<V2>(28));  // inside d
  EXPECT_TRUE(is_version_size<V2>(32));   // V2
  EXPECT_TRUE(is_version_size<V2>(40));   // newer
}

TEST(CapiSized, AnOlderCallersConfigKeepsDefaultsForWhatItLacks) {
  V1 old{sizeof(V1), 10, 20};
  V2 out = kDefaults;
  ASSERT_EQ(read_sized(reinterpret_cast<const V2*>(&old), out, "config"), NM_OK);
  EXPECT_EQ(out.struct_size, sizeof(V2));
  EXPECT_EQ(out.a, 10u);
  EXPECT_EQ(out.b, 20u);
  EXPECT_EQ(out.c, 3u);  // defaults
  EXPECT_EQ(out.d, 4u);
}

TEST(CapiSized, ANewerCallersConfigIsReadWhileItsTailIsZero) {
  V3 newer{};
  newer.v2 = {sizeof(V3), 10, 20, 30, 0, 40};
  V2 out = kDefaults;
  ASSERT_EQ(read_sized(&newer.v2, out, "config"), NM_OK);
  EXPECT_EQ(out.d, 40u);
  newer.e = 1;  // a field this library does not know
  out = kDefaults;
  EXPECT_EQ(read_sized(&newer.v2, out, "config"), NM_ERR_INVALID_ARGUMENT);
}

TEST(CapiSized, BadSizesAndReservedBytesAreRefused) {
  V2 in = kDefaults, out = kDefaults;
  for (uint32_t size : {0u, 8u, 15u, 18u, 28u, 5000u}) {
    in.struct_size = size;
    EXPECT_EQ(read_sized(&in, out, "config"), NM_ERR_INVALID_ARGUMENT) << size;
  }
  in.struct_size = sizeof(V2);
  in.reserved0 = 1;
  EXPECT_EQ(read_sized(&in, out, "config"), NM_ERR_INVALID_ARGUMENT);
  in.struct_size = sizeof(V1);  // the reserved bytes lie beyond an older caller's struct
  EXPECT_EQ(read_sized(&in, out, "config"), NM_OK);
}

TEST(CapiSized, InitWritesExactlyTheCallersSize) {
  struct {
    V1 v1;
    uint8_t guard[32];
  } old;
  std::memset(&old, 0xA5, sizeof old);
  ASSERT_EQ(init_sized(reinterpret_cast<V2*>(&old.v1), sizeof(V1), kDefaults, "config"), NM_OK);
  EXPECT_EQ(old.v1.struct_size, sizeof(V1));
  EXPECT_EQ(old.v1.a, 1u);
  EXPECT_EQ(old.v1.b, 2u);
  for (uint8_t g : old.guard) EXPECT_EQ(g, 0xA5);

  V3 newer;
  std::memset(&newer, 0xA5, sizeof newer);
  ASSERT_EQ(init_sized(&newer.v2, sizeof(V3), kDefaults, "config"), NM_OK);
  EXPECT_EQ(newer.v2.struct_size, sizeof(V3));
  EXPECT_EQ(newer.v2.d, 4u);
  EXPECT_EQ(newer.e, 0u);
}

TEST(CapiSized, OutputsGoThroughTheCallersSize) {
  V2 value = kDefaults;
  struct {
    V1 v1;
    uint8_t guard[32];
  } old;
  std::memset(&old, 0xA5, sizeof old);
  ASSERT_EQ(write_sized(value, reinterpret_cast<V2*>(&old.v1), sizeof(V1), "out"), NM_OK);
  EXPECT_EQ(old.v1.b, 2u);
  for (uint8_t g : old.guard) EXPECT_EQ(g, 0xA5);

  V3 newer;
  std::memset(&newer, 0xA5, sizeof newer);
  ASSERT_EQ(write_sized(value, &newer.v2, sizeof(V3), "out"), NM_OK);
  EXPECT_EQ(newer.v2.d, 4u);
  EXPECT_EQ(newer.e, 0u);
  EXPECT_EQ(write_sized(value, &newer.v2, 12, "out"), NM_ERR_INVALID_ARGUMENT);
}

TEST(CapiSized, ListsUseTheCallersStride) {
  std::vector<V2> all{{sizeof(V2), 1, 11, 0, 0, 0}, {sizeof(V2), 2, 22, 0, 0, 0}, {sizeof(V2), 3, 33, 0, 0, 0}};
  V1 old[4];
  std::memset(old, 0xA5, sizeof old);
  size_t count = 0;
  ASSERT_EQ(write_list(all, reinterpret_cast<V2*>(old), 2, sizeof(V1), &count, "out"), NM_OK);
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(old[0].b, 11u);
  EXPECT_EQ(old[1].b, 22u);
  EXPECT_EQ(old[2].a, 0xA5A5A5A5u);  // beyond the capacity: untouched
  EXPECT_EQ(write_list(all, reinterpret_cast<V2*>(old), 2, 8, &count, "out"), NM_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(write_list(all, static_cast<V2*>(nullptr), 0, sizeof(V2), &count, "out"), NM_OK);
}

}  // namespace
