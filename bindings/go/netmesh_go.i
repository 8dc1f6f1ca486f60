/* Go-only typemaps for bindings/netmesh.i (included from there under SWIGGO).
 *
 * The generated package (internal/capi) is not what users import: the idiomatic layer in
 * package netmesh wraps it. These typemaps only make the raw calls safe and cheap from Go:
 * buffers and keys are []byte, scalar out-parameters are Go pointers. */

/* Caller-owned byte buffers: a Go []byte passes its array and length. cgo allows passing Go
 * memory that holds no Go pointers for the duration of the call; the library never keeps it. */
%typemap(gotype) (const void* frames, size_t frames_len), (void* buf, size_t buf_len),
                 (char* buf, size_t buf_len), (const void* key, size_t len) "[]byte"
%typemap(in) (const void* frames, size_t frames_len), (void* buf, size_t buf_len),
             (char* buf, size_t buf_len), (const void* key, size_t len)
%{ $1 = ($1_ltype)$input.array; $2 = (size_t)$input.len; %}

/* 32-byte keys (parameters, and the config's psk/seed/key members) as []byte. A short slice
 * becomes NULL, which the library reports as NM_ERR_INVALID_ARGUMENT instead of reading or
 * writing past the slice. */
%typemap(gotype) uint8_t KEY[ANY] "[]byte"
%typemap(in) uint8_t KEY[ANY] %{ $1 = $input.len >= $1_dim0 ? ($1_ltype)$input.array : NULL; %}
%typemap(memberin) uint8_t KEY[ANY] %{ if ($input) memcpy($1, $input, $1_dim0); %}
%apply uint8_t KEY[ANY] { const uint8_t peer_public_key[ANY], uint8_t out_key[ANY],
                          uint8_t psk[ANY], uint8_t identity_seed[ANY],
                          uint8_t static_private_key[ANY] };

/* Scalar out-parameters as Go pointers. size_t and int go through a C temporary so the Go
 * side can use fixed-width types whatever the platform's widths are. */
%typemap(gotype) uint64_t* out_node_id, uint64_t* out_stream_id "*uint64"
%typemap(in) uint64_t* out_node_id, uint64_t* out_stream_id %{ $1 = ($1_ltype)$input; %}

%typemap(gotype) size_t* OUT_SIZE "*uint64"
%typemap(in) size_t* OUT_SIZE (size_t temp) %{ temp = 0; $1 = $input ? &temp : NULL; %}
%typemap(argout) size_t* OUT_SIZE %{ if ($input) *(uint64_t*)$input = (uint64_t)temp$argnum; %}
%apply size_t* OUT_SIZE { size_t* out_sent, size_t* out_len, size_t* out_count };

%typemap(gotype) int* out_fd, int* out_nat_type "*int32"
%typemap(in) int* out_fd (int temp), int* out_nat_type (int temp) %{ temp = -1; $1 = $input ? &temp : NULL; %}
%typemap(argout) int* out_fd, int* out_nat_type %{ if ($input) *(int32_t*)$input = (int32_t)temp$argnum; %}

/* Handle out-parameters (nm_node_t**, nm_stream_t**): a uintptr slot on the Go side. */
%typemap(gotype) void** OUT_HANDLE "*uintptr"
%typemap(in) void** OUT_HANDLE (void* temp) %{ temp = NULL; $1 = $input ? ($1_ltype)&temp : NULL; %}
%typemap(argout) void** OUT_HANDLE %{ if ($input) *(uintptr_t*)$input = (uintptr_t)temp$argnum; %}
%apply void** OUT_HANDLE { nm_node_t** out_node, nm_stream_t** out_stream };

/* Handles are opaque tokens, not memory: pass them as uintptr both ways. */
%typemap(gotype) nm_node_t*, nm_stream_t* "uintptr"
%typemap(in) nm_node_t*, nm_stream_t* %{ $1 = ($1_ltype)(uintptr_t)$input; %}

/* The config's bind_addr and identity_file are borrowed const char*: a SWIG setter would
 * have to leave a C copy of the Go string behind (a leak per node, SWIG warning 451). They
 * are read-only here (DefaultConfig reads the defaults), and nm_go_node_new takes them as
 * parameters instead, whose C copies SWIG frees after the call (the library copies both
 * during nm_node_new). An empty identity_file is NULL: no file. */
%immutable nm_node_config::bind_addr;
%immutable nm_node_config::identity_file;
%inline %{
nm_status nm_go_node_new(const nm_node_config_t* config, const char* bind_addr,
                         const char* identity_file, nm_node_t** out_node) {
  if (!config) return nm_node_new(NULL, out_node);
  nm_node_config_t c = *config;
  c.bind_addr = bind_addr;  /* set by hand: see above (tests/abi/check_fields.py looks here) */
  c.identity_file = identity_file && *identity_file ? identity_file : NULL;
  return nm_node_new(&c, out_node);
}
%}

/* Batches of events go through nm_bind_send_frames (netmesh.i): an array of nm_event_t
 * holding Go pointers cannot be passed through cgo. nm_node_new is replaced by
 * nm_go_node_new above. */
%ignore nm_event;
%ignore nm_event_t;
%ignore nm_stream_send;
%ignore nm_stream_send_with_retry;
%ignore nm_stream_send_blocking;
%ignore nm_node_new;

/* nm_stream_recv_batch's lens array (with its length, max_events) as a []uint64. Where
 * size_t is 64 bits the slice is passed as it is; elsewhere through a C copy. */
%typemap(gotype) (size_t* lens, size_t max_events) "[]uint64"
%typemap(in) (size_t* lens, size_t max_events) %{
  $2 = (size_t)$input.len;
  if (sizeof(size_t) == sizeof(uint64_t) || $2 == 0) {
    $1 = ($1_ltype)$input.array;
  } else {
    $1 = ($1_ltype)calloc($2, sizeof(size_t)); /* NULL on failure: NM_ERR_INVALID_ARGUMENT */
  }
%}
%typemap(argout) (size_t* lens, size_t max_events) %{
  if (sizeof(size_t) != sizeof(uint64_t) && $1 && $2) {
    for (size_t i = 0; i < $2; ++i) ((uint64_t*)$input.array)[i] = (uint64_t)$1[i];
  }
%}
%typemap(freearg) (size_t* lens, size_t max_events) %{
  if (sizeof(size_t) != sizeof(uint64_t) && $2) free($1);
%}

/* nm_node_all_stream_stats fills a C array of structs; Go allocates it here and reads each
 * element through its proxy (a pointer into the array, so no copy to delete). */
%inline %{
nm_stream_stats_t* nm_go_stream_stats_array(size_t n) {
  return (nm_stream_stats_t*)calloc(n ? n : 1, sizeof(nm_stream_stats_t));
}
nm_stream_stats_t* nm_go_stream_stats_at(nm_stream_stats_t* array, size_t i) { return array + i; }
void nm_go_stream_stats_array_free(nm_stream_stats_t* array) { free(array); }
%}

/* nm_node_routes likewise fills an array of nm_route_t. */
%inline %{
nm_route_t* nm_go_route_array(size_t n) {
  return (nm_route_t*)calloc(n ? n : 1, sizeof(nm_route_t));
}
nm_route_t* nm_go_route_at(nm_route_t* array, size_t i) { return array + i; }
void nm_go_route_array_free(nm_route_t* array) { free(array); }
%}
