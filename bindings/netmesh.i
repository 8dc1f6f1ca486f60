/* One SWIG interface for the Go, Java and C# bindings. Language-specific typemaps live in
 * <lang>/netmesh_<lang>.i; what every language needs is here. */
%module netmesh

%{
#include <stdlib.h>
#include <string.h>
#include "netmesh.h"
#include "netmesh_testing.h"
%}

%include <stdint.i>

/* The ABI's size parameters (include/netmesh.h, "ABI stability") are the struct's sizeof as
 * this wrapper was compiled, never a caller's choice: the bindings hide them. Every struct
 * the bindings allocate is a whole struct of this header, made by SWIG with sizeof. */
%typemap(in, numinputs=0) size_t config_size, size_t impairment_size "$1 = sizeof(*arg1);"
%typemap(in, numinputs=0) size_t elem_size "$1 = sizeof(*arg2);"
/* out_size is the size of the struct just before it: arg2 for nm_node_stats(node, out,
 * out_size), arg3 for nm_node_session_stats(node, peer, out, out_size). $argnum is the size's
 * position; a new position fails to compile here instead of passing a wrong size. */
%{
#define NM_BIND_OUT_BEFORE(argnum) NM_BIND_OUT_BEFORE_##argnum
#define NM_BIND_OUT_BEFORE_3 arg2
#define NM_BIND_OUT_BEFORE_4 arg3
%}
%typemap(in, numinputs=0) size_t out_size "$1 = sizeof(*NM_BIND_OUT_BEFORE($argnum));"

/* struct_size is set by the *_init functions and reserved bytes stay zero: neither is a
 * setting, so no binding exposes them (tests/abi/check_fields.py knows). */
%ignore nm_node_config::struct_size;
%ignore nm_node_config::reserved0;
%ignore nm_node_config::reserved1;
%ignore nm_stream_config::struct_size;
%ignore nm_stream_config::reserved0;
%ignore nm_stream_stats::reserved0;
%ignore nm_session_stats::reserved0;
%ignore nm_route::reserved0;
%ignore nm_peer_event::reserved0;
%ignore nm_impairment::struct_size;

#if defined(SWIGGO)
%include "go/netmesh_go.i"
#elif defined(SWIGJAVA)
%include "java/netmesh_java.i"
#elif defined(SWIGCSHARP)
%include "csharp/netmesh_csharp.i"
#endif

/* An array of {pointer, length} structs maps badly to every target language, so the
 * bindings pass a batch of events as ONE byte buffer of wire-style frames,
 * u32le(len) || bytes, repeated. mode 0 = nm_stream_send, 1 = nm_stream_send_with_retry
 * (arg = max_retries), 2 = nm_stream_send_blocking (arg = timeout_ms). */
%inline %{
nm_status nm_bind_send_frames(nm_stream_t* stream, const void* frames, size_t frames_len, int mode,
                              int arg, size_t* out_sent) {
  const uint8_t* p = (const uint8_t*)frames;
  size_t count = 0, pos = 0;
  if (!frames && frames_len) return NM_ERR_INVALID_ARGUMENT;
  while (frames_len - pos >= 4) { /* count, validating the framing first */
    uint32_t len = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 | (uint32_t)p[pos + 2] << 16 |
                   (uint32_t)p[pos + 3] << 24;
    if (frames_len - pos - 4 < len) return NM_ERR_INVALID_ARGUMENT;
    pos += 4 + (size_t)len;
    ++count;
  }
  if (pos != frames_len) return NM_ERR_INVALID_ARGUMENT;
  nm_event_t* events = (nm_event_t*)malloc((count ? count : 1) * sizeof(nm_event_t));
  if (!events) return NM_ERR_INTERNAL;
  pos = 0;
  for (size_t i = 0; i < count; ++i) {
    uint32_t len = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 | (uint32_t)p[pos + 2] << 16 |
                   (uint32_t)p[pos + 3] << 24;
    events[i].data = p + pos + 4;
    events[i].len = len;
    pos += 4 + (size_t)len;
  }
  nm_status s;
  if (mode == 1) {
    s = nm_stream_send_with_retry(stream, events, count, (uint32_t)arg, out_sent);
  } else if (mode == 2) {
    s = nm_stream_send_blocking(stream, events, count, arg, out_sent);
  } else {
    s = nm_stream_send(stream, events, count, out_sent);
  }
  free(events);
  return s;
}
%}

%include "netmesh.h"
/* Fault injection (testing): each binding keeps it apart from its product API. */
%include "netmesh_testing.h"
