/* C#-only part of the SWIG interface, included by ../netmesh.i under SWIGCSHARP before
 * netmesh.h is parsed. It turns the C API into a P/Invoke layer the idiomatic Netmesh classes
 * can call without unsafe code: handles as IntPtr, out-params as `out`, buffers and keys as
 * byte[]. Everything generated here is `internal`: applications use the Netmesh namespace. */

%include <typemaps.i>
%include <arrays_csharp.i>

%pragma(csharp) moduleclassmodifiers="internal class"
%typemap(csclassmodifiers) SWIGTYPE, SWIGTYPE *, SWIGTYPE [] "internal class"
%typemap(csclassmodifiers) enum SWIGTYPE "internal enum"

/* size_t: SWIG 4.1 maps it like `unsigned long` to a 32-bit C# uint, which truncates on LP64
 * Linux. Pass it as a 64-bit ulong instead. */
%apply unsigned long long { size_t };

/* size_t out-params -> `out ulong`, through a real size_t temporary (no pointer punning). */
%typemap(ctype) size_t *OUTSIZE "unsigned long long *"
%typemap(imtype) size_t *OUTSIZE "out ulong"
%typemap(cstype) size_t *OUTSIZE "out ulong"
%typemap(csin) size_t *OUTSIZE "out $csinput"
%typemap(in) size_t *OUTSIZE (size_t tmp = 0) "$1 = &tmp;"
%typemap(argout) size_t *OUTSIZE "*$input = (unsigned long long)tmp$argnum;"
%apply size_t *OUTSIZE { size_t *out_sent, size_t *out_len, size_t *out_count };

%apply unsigned long long *OUTPUT { uint64_t *out_node_id, uint64_t *out_stream_id };
%apply int *OUTPUT { int *out_fd, int *out_nat_type };

/* Handles are opaque tokens (never dereferenced, stale ones are reported as errors), so
 * IntPtr is their natural C# type; the owning Node/Stream object frees them. */
%define NM_HANDLE(T)
%typemap(ctype) T * "void *"
%typemap(imtype) T * "global::System.IntPtr"
%typemap(cstype) T * "global::System.IntPtr"
%typemap(csin) T * "$csinput"
%typemap(in) T * "$1 = ($1_ltype)$input;"
%typemap(ctype) T ** "void **"
%typemap(imtype) T ** "out global::System.IntPtr"
%typemap(cstype) T ** "out global::System.IntPtr"
%typemap(csin) T ** "out $csinput"
%typemap(in) T ** (T *tmp = NULL) "$1 = &tmp;"
%typemap(argout) T ** "*$input = (void *)tmp$argnum;"
%enddef
NM_HANDLE(nm_node_t)
NM_HANDLE(nm_stream_t)

/* Keys as byte[]. The C side trusts lengths, so the Netmesh layer checks key arrays are
 * NM_KEY_SIZE long. */
%apply unsigned char INPUT[] { const uint8_t peer_public_key[ANY], const void *key }
%apply unsigned char OUTPUT[] { uint8_t out_key[ANY] }
/* Event buffers as byte[] pinned with `fixed` for the call (FIXED[]). Mono's marshaller
 * copies an [Out] byte[] element by element, around every call: receiving 64 B events
 * through a 64 KiB batch buffer spent 80% of its time there (bench/bindings). */
%apply unsigned char FIXED[] { const void *frames, void *buf }
%csmethodmodifiers nm_stream_recv "public unsafe";
%csmethodmodifiers nm_cs_stream_recv_batch "public unsafe";
%csmethodmodifiers nm_bind_send_frames "public unsafe";

/* nm_node_local_addr's output string buffer: bytes, decoded up to the NUL in C#. */
%typemap(ctype) char *buf "char *"
%typemap(imtype, inattributes="[global::System.Runtime.InteropServices.Out, global::System.Runtime.InteropServices.MarshalAs(global::System.Runtime.InteropServices.UnmanagedType.LPArray)]") char *buf "byte[]"
%typemap(cstype) char *buf "byte[]"
%typemap(csin) char *buf "$csinput"
%typemap(in) char *buf "$1 = $input;"

/* The 32-byte key fields of nm_node_config_t as byte[] properties (SWIG would otherwise
 * expose an unusable SWIGTYPE_p_unsigned_char). The setter checks the length because the C
 * side copies exactly $1_dim0 bytes. */
%define NM_KEY_FIELD(NAME)
%typemap(ctype, out="unsigned char *") uint8_t NAME[ANY] "unsigned char *"
%typemap(imtype, out="global::System.IntPtr") uint8_t NAME[ANY] "byte[]"
%typemap(cstype) uint8_t NAME[ANY] "byte[]"
%typemap(csin) uint8_t NAME[ANY] "$csinput"
%typemap(in) uint8_t NAME[ANY] "$1 = $input;"
%typemap(out) uint8_t NAME[ANY] "$result = $1;"
%typemap(csvarin, excode=SWIGEXCODE2) uint8_t NAME[ANY] %{
    set {
      if (value == null || value.Length != $1_dim0)
        throw new global::System.ArgumentException("NAME needs $1_dim0 bytes");
      $imcall;$excode
    } %}
%typemap(csvarout, excode=SWIGEXCODE2) uint8_t NAME[ANY] %{
    get {
      byte[] bytes = new byte[$1_dim0];
      global::System.Runtime.InteropServices.Marshal.Copy($imcall, bytes, 0, $1_dim0);$excode
      return bytes;
    } %}
%enddef
NM_KEY_FIELD(psk)
NM_KEY_FIELD(identity_seed)
NM_KEY_FIELD(static_private_key)

/* SWIG's setter for a `const char *` member strdup()s and never frees. Keep bind_addr and
 * identity_file read-only (their getters show the C defaults) and pass both strings to
 * nm_cs_node_new instead: the marshalled strings live for the call, and nm_node_new reads
 * them during the call (a null C# string arrives as NULL: no identity file). */
%immutable nm_node_config::bind_addr;
%immutable nm_node_config::identity_file;
%inline %{
nm_status nm_cs_node_new(const nm_node_config_t *config, const char *bind_addr,
                         const char *identity_file, nm_node_t **out_node) {
  nm_node_config_t c;
  if (!config) return nm_node_new(NULL, out_node); /* let the library report it */
  c = *config;
  c.bind_addr = bind_addr;
  c.identity_file = identity_file;
  return nm_node_new(&c, out_node);
}
%}

/* Receive straight into a pinned Span<byte> (mcs accepts C# 7.2 and Mono 6.8's mscorlib has
 * Span<T>): the same call as nm_stream_recv, with the buffer as a raw pointer. */
%apply void *VOID_INT_PTR { void *raw_buf }
%inline %{
nm_status nm_cs_stream_recv_raw(nm_stream_t *stream, void *raw_buf, size_t buf_len,
                                size_t *out_len, int timeout_ms) {
  return nm_stream_recv(stream, raw_buf, buf_len, out_len, timeout_ms);
}
%}

/* nm_stream_recv_batch: the event bytes go to a byte[] (the `void *buf` typemap above), their
 * sizes to a ulong[]. The library writes size_t lengths, so they go through a size_t array
 * and are copied out (no pointer punning, like OUTSIZE); the raw nm_stream_recv_batch, whose
 * size_t *lens SWIG cannot map, is ignored below. */
%apply unsigned long long FIXED[] { unsigned long long *lens }
%inline %{
nm_status nm_cs_stream_recv_batch(nm_stream_t *stream, void *buf, size_t buf_len,
                                  unsigned long long *lens, size_t max_events, size_t *out_count,
                                  int timeout_ms) {
  size_t local[64];
  size_t *tmp = local;
  nm_status s;
  if (!lens || max_events == 0) /* let the library report it */
    return nm_stream_recv_batch(stream, buf, buf_len, NULL, max_events, out_count, timeout_ms);
  if (max_events > sizeof local / sizeof local[0]) {
    tmp = (size_t *)malloc(max_events * sizeof(size_t));
    if (!tmp) return NM_ERR_INTERNAL;
  }
  tmp[0] = 0;
  s = nm_stream_recv_batch(stream, buf, buf_len, tmp, max_events, out_count, timeout_ms);
  /* NM_OK: *out_count sizes; NM_ERR_BUFFER_TOO_SMALL: the first event's size in lens[0] */
  if (s == NM_OK) {
    for (size_t i = 0; i < *out_count && i < max_events; ++i) lens[i] = tmp[i];
  } else if (s == NM_ERR_BUFFER_TOO_SMALL) {
    lens[0] = tmp[0];
  }
  if (tmp != local) free(tmp);
  return s;
}
%}

/* nm_node_all_stream_stats and nm_node_routes fill C arrays of structs: allocate and read
 * them with carrays. Forward-declared because netmesh.h is parsed after this file. */
typedef struct nm_stream_stats nm_stream_stats_t;
typedef struct nm_route nm_route_t;
%include <carrays.i>
%array_functions(nm_stream_stats_t, nm_stream_stats_array)
%array_functions(nm_route_t, nm_route_array)

/* The event-array senders need nm_event_t arrays; C# goes through nm_bind_send_frames. */
%ignore nm_event;
%ignore nm_stream_send;
%ignore nm_stream_send_with_retry;
%ignore nm_stream_send_blocking;
/* Its size_t *lens array has no C# mapping; C# goes through nm_cs_stream_recv_batch. */
%ignore nm_stream_recv_batch;
