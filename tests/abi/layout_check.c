/* Compile-time check (the test only runs what compiled): every struct layout of a frozen
 * release is a prefix of the current one -- each frozen field at the same offset with the
 * same size, and the current struct no smaller. This is what lets a program built against
 * the older headers pass its smaller structs (tests/abi/README.md). A failure here means a
 * released field moved, changed size or disappeared: append instead. */
#include <stddef.h>

#include "netmesh.h"
#include "netmesh_testing.h"

#define NM_V0_2(name) v0_2_##name
#include "v0_2_structs.h"

#define NM_MEMBER_SIZE(T, f) sizeof(((T*)0)->f)
#define NM_SAME_FIELD(OLD, NEW, f)                                                                \
  _Static_assert(offsetof(NEW, f) == offsetof(OLD, f) && NM_MEMBER_SIZE(NEW, f) == NM_MEMBER_SIZE(OLD, f), \
                 #NEW "." #f " moved or changed size since " #OLD);
#define NM_PREFIX_OF(OLD, NEW) _Static_assert(sizeof(NEW) >= sizeof(OLD), #NEW " shrank since " #OLD);

#define NM_CHECK_V0_2(T)                    \
  NM_PREFIX_OF(v0_2_##T, T)                 \
  NM_V0_2_FIELDS_##T(NM_CHECK_V0_2_FIELD_##T)

#define NM_CHECK_V0_2_FIELD_nm_node_config_t(f) NM_SAME_FIELD(v0_2_nm_node_config_t, nm_node_config_t, f)
#define NM_CHECK_V0_2_FIELD_nm_stream_config_t(f) NM_SAME_FIELD(v0_2_nm_stream_config_t, nm_stream_config_t, f)
#define NM_CHECK_V0_2_FIELD_nm_stream_stats_t(f) NM_SAME_FIELD(v0_2_nm_stream_stats_t, nm_stream_stats_t, f)
#define NM_CHECK_V0_2_FIELD_nm_node_stats_t(f) NM_SAME_FIELD(v0_2_nm_node_stats_t, nm_node_stats_t, f)
#define NM_CHECK_V0_2_FIELD_nm_route_t(f) NM_SAME_FIELD(v0_2_nm_route_t, nm_route_t, f)
#define NM_CHECK_V0_2_FIELD_nm_peer_event_t(f) NM_SAME_FIELD(v0_2_nm_peer_event_t, nm_peer_event_t, f)
#define NM_CHECK_V0_2_FIELD_nm_impairment_t(f) NM_SAME_FIELD(v0_2_nm_impairment_t, nm_impairment_t, f)
#define NM_CHECK_V0_2_FIELD_nm_impairment_stats_t(f) \
  NM_SAME_FIELD(v0_2_nm_impairment_stats_t, nm_impairment_stats_t, f)

NM_CHECK_V0_2(nm_node_config_t)
NM_CHECK_V0_2(nm_stream_config_t)
NM_CHECK_V0_2(nm_stream_stats_t)
NM_CHECK_V0_2(nm_node_stats_t)
NM_CHECK_V0_2(nm_route_t)
NM_CHECK_V0_2(nm_peer_event_t)
NM_CHECK_V0_2(nm_impairment_t)
NM_CHECK_V0_2(nm_impairment_stats_t)
/* nm_event_t never changes at all. */
_Static_assert(sizeof(nm_event_t) == sizeof(v0_2_nm_event_t) && offsetof(nm_event_t, len) == offsetof(v0_2_nm_event_t, len),
               "nm_event_t changed");

/* The frozen sizes are the ones the library accepts as the least (struct_fields.h). */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(v0_2_nm_node_config_t) == 200 && sizeof(v0_2_nm_stream_config_t) == 12 &&
                   sizeof(v0_2_nm_stream_stats_t) == 208 && sizeof(v0_2_nm_node_stats_t) == 288 &&
                   sizeof(v0_2_nm_route_t) == 32 && sizeof(v0_2_nm_peer_event_t) == 24 &&
                   sizeof(v0_2_nm_impairment_t) == 88 && sizeof(v0_2_nm_impairment_stats_t) == 72,
               "0.2.0 sizes (LP64)");
#endif

int main(void) { return 0; }
