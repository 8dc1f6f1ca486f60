/* Java-only part of the netmesh SWIG interface (included from ../netmesh.i under SWIGJAVA).
 *
 * Shape of the generated dev.netmesh.internal API:
 *  - handles (nm_node_t*, nm_stream_t*) are plain Java longs: the C API treats them as
 *    tokens and rejects stale ones, so no proxy object is needed to keep them safe;
 *  - a failing nm_status is thrown from the JNI glue as a dev.netmesh.NetmeshException
 *    subclass, with nm_last_error_message() read right there, on the calling thread, before
 *    anything else can overwrite it; freed by that, out-params become return values;
 *  - keys and event batches are byte[]; receive buffers are direct ByteBuffers (no copy),
 *    and a batch receive's event sizes come back in an int[];
 *  - arrays of structs (stream stats, routes) are carrays.i arrays the caller sizes;
 *  - uint64_t is a Java long (two's complement: UINT64_MAX reads as -1).
 * The idiomatic layer (package dev.netmesh) is written against this. */

%include "enumtypeunsafe.swg" /* enums as int constants: statuses map to exceptions anyway */
%javaconst(1);

%pragma(java) jniclassimports=%{import dev.netmesh.internal.NativeLibrary;%}
%pragma(java) jniclasscode=%{
  static { NativeLibrary.load(); }
%}

%apply long long { uint64_t };

/* The idiomatic layer deletes every struct proxy it creates; no finalizers. */
%typemap(javafinalize) SWIGTYPE ""

/* The raw multi-event sends take an array of {pointer, length} structs; Java uses
 * nm_bind_send_frames instead. The error detail travels inside the exceptions. */
%ignore nm_event;
%ignore nm_event_t;
%ignore nm_stream_send;
%ignore nm_stream_send_with_retry;
%ignore nm_stream_send_blocking;
%ignore nm_last_error_message;

%{
/* Makes a failed status a pending Java exception built by NetmeshException.of(status,
 * detail bytes, value). value carries what the caller needs beyond the status (events
 * sent before backpressure, the size a too-small buffer needed). The detail goes over as
 * bytes because it can echo user input that is not valid modified UTF-8. Plain C JNI calls:
 * SWIG's JCALL macros are not expanded in verbatim blocks, and the wrapper is compiled as C. */
static void nmj_throw(JNIEnv* jenv, nm_status status, jlong value) {
  const char* detail = nm_last_error_message();
  jclass cls;
  jmethodID of;
  jbyteArray bytes;
  jobject ex;
  size_t len = detail ? strlen(detail) : 0;
  if ((*jenv)->ExceptionCheck(jenv)) return; /* something failed first: keep that one */
  cls = (*jenv)->FindClass(jenv, "dev/netmesh/NetmeshException");
  if (!cls) return;
  of = (*jenv)->GetStaticMethodID(jenv, cls, "of", "(I[BJ)Ldev/netmesh/NetmeshException;");
  if (!of) return;
  bytes = (*jenv)->NewByteArray(jenv, (jsize)len);
  if (!bytes) return;
  (*jenv)->SetByteArrayRegion(jenv, bytes, 0, (jsize)len, (const jbyte*)detail);
  ex = (*jenv)->CallStaticObjectMethod(jenv, cls, of, (jint)status, bytes, value);
  /* of() itself threw (an Error): that one is pending; else checked, as -Xcheck:jni wants */
  if ((*jenv)->ExceptionCheck(jenv)) return;
  if (ex) (*jenv)->Throw(jenv, (jthrowable)ex);
}
%}

/* ---- handles as long ---- */
%typemap(jni) nm_node_t*, nm_stream_t* "jlong"
%typemap(jtype) nm_node_t*, nm_stream_t* "long"
%typemap(jstype) nm_node_t*, nm_stream_t* "long"
%typemap(javain) nm_node_t*, nm_stream_t* "$javainput"
%typemap(in) nm_node_t*, nm_stream_t* "$1 = ($1_ltype)(intptr_t)$input;"

/* ---- status: void in Java, thrown when not NM_OK ----
 * "ret" runs after argout and freearg, so out-values are stored and arrays released
 * before the exception is raised. jresult is SWIG's name for the JNI return value. */
%typemap(ret) nm_status "if ($1 != NM_OK) nmj_throw(jenv, $1, 0);"
%typemap(ret) nm_status nm_bind_send_frames, nm_status nm_jbind_send_direct, nm_status nm_stream_recv,
  nm_status nm_stream_recv_batch "if ($1 != NM_OK) nmj_throw(jenv, $1, jresult);"

/* Status-only functions are void in Java. (A function missing from these lists still
 * throws, but also returns its int status.) A catch-all nm_status typemap is not an option:
 * it would also retype nm_strerror's argument and the nm_status constants. */
%define NM_VOID(FUNC)
%typemap(jni) nm_status FUNC "void"
%typemap(jtype) nm_status FUNC "void"
%typemap(jstype) nm_status FUNC "void"
%typemap(javaout) nm_status FUNC "{ $jnicall; }"
%typemap(out) nm_status FUNC ""
%enddef

/* FUNC's out-param (set by an argout typemap below) becomes its return value. */
%define NM_RETURNS(FUNC, JNI, JTYPE)
%typemap(jni) nm_status FUNC "JNI"
%typemap(jtype) nm_status FUNC "JTYPE"
%typemap(jstype) nm_status FUNC "JTYPE"
%typemap(javaout) nm_status FUNC "{ return $jnicall; }"
%typemap(out) nm_status FUNC ""
%enddef

NM_VOID(nm_node_config_init)
NM_VOID(nm_node_free)
NM_VOID(nm_node_stats)
NM_VOID(nm_node_session_stats)
NM_VOID(nm_node_connect)
NM_VOID(nm_node_connect_via)
NM_VOID(nm_node_allow_peer)
NM_VOID(nm_node_next_peer_event)
NM_VOID(nm_node_accept)
NM_VOID(nm_node_connect_direct)
NM_VOID(nm_impairment_init)
NM_VOID(nm_node_set_impairment)
NM_VOID(nm_node_impairment_stats)
NM_VOID(nm_stream_config_init)
NM_VOID(nm_node_close_stream)
NM_VOID(nm_stream_free)
NM_VOID(nm_stream_stats)

NM_RETURNS(nm_node_new, jlong, long)
NM_RETURNS(nm_node_id, jlong, long)
NM_RETURNS(nm_node_event_fd, jint, int)
NM_RETURNS(nm_node_peer_event_fd, jint, int)
NM_RETURNS(nm_node_routes, jlong, long)
NM_RETURNS(nm_node_open_stream, jlong, long)
NM_RETURNS(nm_node_all_stream_stats, jlong, long)
NM_RETURNS(nm_stream_id_from_key, jlong, long)
NM_RETURNS(nm_stream_recv, jlong, long)
NM_RETURNS(nm_stream_recv_batch, jlong, long)
NM_RETURNS(nm_bind_send_frames, jlong, long)
NM_RETURNS(nm_jbind_send_direct, jlong, long)
NM_RETURNS(nm_node_public_key, jbyteArray, byte[])
NM_RETURNS(nm_node_local_addr, jstring, String)
NM_RETURNS(nm_node_probe_reflex, jstring, String)
NM_RETURNS(nm_node_reflex_addr, jstring, String)
NM_RETURNS(nm_node_classify_nat, jint, int)
NM_RETURNS(nm_node_nat_type, jint, int)

/* ---- scalar out-params ---- */
%define NM_OUT(CTYPE, NAME, JNI)
%typemap(in, numinputs=0) CTYPE NAME ($*1_ltype temp = 0) "$1 = &temp;"
%typemap(argout) CTYPE NAME "$result = (JNI)(intptr_t)temp$argnum;"
%enddef
NM_OUT(nm_node_t**, out_node, jlong)
NM_OUT(nm_stream_t**, out_stream, jlong)
NM_OUT(uint64_t*, out_node_id, jlong)
NM_OUT(uint64_t*, out_stream_id, jlong)
NM_OUT(size_t*, out_count, jlong)
NM_OUT(size_t*, out_sent, jlong)
NM_OUT(size_t*, out_len, jlong)
NM_OUT(int*, out_fd, jint)
NM_OUT(int*, out_nat_type, jint)

/* ---- keys: byte[32] both ways (function arguments and config struct fields) ---- */
%typemap(jni) uint8_t[ANY], const uint8_t[ANY] "jbyteArray"
%typemap(jtype) uint8_t[ANY], const uint8_t[ANY] "byte[]"
%typemap(jstype) uint8_t[ANY], const uint8_t[ANY] "byte[]"
%typemap(javain) uint8_t[ANY], const uint8_t[ANY] "$javainput"
%typemap(javaout) uint8_t[ANY], const uint8_t[ANY] "{ return $jnicall; }"
%typemap(in) uint8_t[ANY] (uint8_t temp[$1_dim0]), const uint8_t[ANY] (uint8_t temp[$1_dim0]) {
  if (!$input || JCALL1(GetArrayLength, jenv, $input) != $1_dim0) {
    SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException, "keys are NM_KEY_SIZE (32) bytes");
    return $null;
  }
  JCALL4(GetByteArrayRegion, jenv, $input, 0, $1_dim0, (jbyte*)temp);
  $1 = temp;
}
%typemap(out) uint8_t[ANY] {
  $result = JCALL1(NewByteArray, jenv, $1_dim0);
  if ($result) JCALL4(SetByteArrayRegion, jenv, $result, 0, $1_dim0, (const jbyte*)$1);
}
%typemap(in, numinputs=0) uint8_t out_key[ANY] (uint8_t temp[$1_dim0]) "$1 = temp;"
%typemap(argout) uint8_t out_key[ANY] {
  $result = JCALL1(NewByteArray, jenv, $1_dim0);
  if ($result) JCALL4(SetByteArrayRegion, jenv, $result, 0, $1_dim0, (const jbyte*)temp$argnum);
}

/* ---- local address: returned as a String ---- */
%typemap(in, numinputs=0) (char* buf, size_t buf_len) (char temp[NM_ADDR_MAX]) {
  temp[0] = '\0';
  $1 = temp;
  $2 = sizeof temp;
}
%typemap(argout) (char* buf, size_t buf_len) { $result = JCALL1(NewStringUTF, jenv, temp$argnum); }

/* ---- byte[] in: event frames and stream-id keys. Read-only, so released with JNI_ABORT
 * (no copy back). An empty array is passed as NULL, 0, which both functions accept. ---- */
%typemap(jni) (const void* frames, size_t frames_len), (const void* key, size_t len) "jbyteArray"
%typemap(jtype) (const void* frames, size_t frames_len), (const void* key, size_t len) "byte[]"
%typemap(jstype) (const void* frames, size_t frames_len), (const void* key, size_t len) "byte[]"
%typemap(javain) (const void* frames, size_t frames_len), (const void* key, size_t len) "$javainput"
%typemap(in) (const void* frames, size_t frames_len), (const void* key, size_t len) {
  $1 = NULL;
  $2 = $input ? (size_t)JCALL1(GetArrayLength, jenv, $input) : 0;
  if ($2 > 0) {
    $1 = JCALL2(GetByteArrayElements, jenv, $input, NULL);
    if (!$1) return $null; /* OutOfMemoryError is pending */
  }
}
%typemap(freearg) (const void* frames, size_t frames_len), (const void* key, size_t len)
  { if ($1) JCALL3(ReleaseByteArrayElements, jenv, $input, (jbyte*)$1, JNI_ABORT); }

/* ---- receive buffer: a direct ByteBuffer, written from offset 0 up to its capacity,
 * so a blocking receive holds no Java array pinned and nothing is copied twice. ---- */
%typemap(jni) (void* buf, size_t buf_len) "jobject"
%typemap(jtype) (void* buf, size_t buf_len) "java.nio.ByteBuffer"
%typemap(jstype) (void* buf, size_t buf_len) "java.nio.ByteBuffer"
%typemap(javain) (void* buf, size_t buf_len) "$javainput"
%typemap(in) (void* buf, size_t buf_len) {
  $1 = $input ? JCALL1(GetDirectBufferAddress, jenv, $input) : NULL;
  if (!$1) {
    SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException, "a direct ByteBuffer is required");
    return $null;
  }
  $2 = (size_t)JCALL1(GetDirectBufferCapacity, jenv, $input);
}

/* ---- send from a direct ByteBuffer: its first `len` bytes are the frames (nm_bind_send_frames'
 * format), read in place: no Java array is pinned or copied. ---- */
%typemap(jni) (const void* direct_frames, size_t len) "jobject"
%typemap(jtype) (const void* direct_frames, size_t len) "java.nio.ByteBuffer"
%typemap(jstype) (const void* direct_frames, size_t len) "java.nio.ByteBuffer"
%typemap(javain) (const void* direct_frames, size_t len) "$javainput"
%typemap(in) (const void* direct_frames, size_t len) {
  $1 = $input ? JCALL1(GetDirectBufferAddress, jenv, $input) : NULL;
  if (!$1) {
    SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException, "a direct ByteBuffer is required");
    return $null;
  }
  $2 = 0; /* set from the next argument, checked against the capacity there */
}
%typemap(in) int frames_bytes {
  if ($input < 0 || (jlong)$input > JCALL1(GetDirectBufferCapacity, jenv, jarg2)) {
    SWIG_JavaThrowException(jenv, SWIG_JavaIndexOutOfBoundsException, "frames_bytes");
    return $null;
  }
  $1 = (int)$input;
  arg3 = (size_t)$input;
}
%{
nm_status nm_bind_send_frames(nm_stream_t* stream, const void* frames, size_t frames_len, int mode,
                              int arg, size_t* out_sent); /* defined in ../netmesh.i */
%}
%inline %{
/* nm_bind_send_frames from a direct buffer (frames_bytes: how much of it holds frames). */
nm_status nm_jbind_send_direct(nm_stream_t* stream, const void* direct_frames, size_t len, int frames_bytes,
                               int mode, int arg, size_t* out_sent) {
  (void)frames_bytes; /* already in len */
  return nm_bind_send_frames(stream, direct_frames, len, mode, arg, out_sent);
}
%}

/* ---- batch receive: (lens, max_events, out_count) is one int[] of max_events entries that
 * receives the events' sizes; the count is the return value. On NM_ERR_BUFFER_TOO_SMALL
 * the first event's size (lens[0]) is returned instead, so "ret" hands it to the exception
 * as for nm_stream_recv. A size fits an int: it is at most the direct buffer's capacity. */
%typemap(jni) (size_t* lens, size_t max_events, size_t* out_count) "jintArray"
%typemap(jtype) (size_t* lens, size_t max_events, size_t* out_count) "int[]"
%typemap(jstype) (size_t* lens, size_t max_events, size_t* out_count) "int[]"
%typemap(javain) (size_t* lens, size_t max_events, size_t* out_count) "$javainput"
%typemap(in) (size_t* lens, size_t max_events, size_t* out_count) (size_t count = 0) {
  if (!$input) {
    SWIG_JavaThrowException(jenv, SWIG_JavaNullPointerException, "lens");
    return $null;
  }
  $2 = (size_t)JCALL1(GetArrayLength, jenv, $input); /* 0 is the library's to refuse */
  $1 = (size_t*)calloc($2 ? $2 : 1, sizeof(size_t));
  if (!$1) {
    SWIG_JavaThrowException(jenv, SWIG_JavaOutOfMemoryError, "recv_batch lens");
    return $null;
  }
  $3 = &count;
}
%typemap(argout) (size_t* lens, size_t max_events, size_t* out_count) {
  if (result == NM_ERR_BUFFER_TOO_SMALL) {
    $result = (jlong)$1[0];
  } else if (count$argnum > 0) {
    jint* sizes = JCALL2(GetIntArrayElements, jenv, $input, NULL);
    if (sizes) { /* else OutOfMemoryError is pending */
      size_t i;
      for (i = 0; i < count$argnum && i < $2; ++i) sizes[i] = (jint)$1[i];
      JCALL3(ReleaseIntArrayElements, jenv, $input, sizes, 0);
    }
    $result = (jlong)count$argnum;
  }
}
%typemap(freearg) (size_t* lens, size_t max_events, size_t* out_count) "free($1);"

/* ---- node config: bind_addr is the one pointer field. SWIG's default setter copies the
 * string and never frees it; this one frees the previous copy, and so does the destructor.
 * The default (a static string from nm_node_config_init) is recognised and left alone. ---- */
%{
static const char* nmj_default_bind_addr(void) {
  nm_node_config_t d;
  nm_node_config_init(&d, sizeof d);
  return d.bind_addr;
}
static void nmj_free_bind_addr(nm_node_config_t* c) {
  if (c->bind_addr && c->bind_addr != nmj_default_bind_addr()) free((void*)c->bind_addr);
  c->bind_addr = NULL;
}
%}
%typemap(memberin) const char* bind_addr {
  nmj_free_bind_addr(arg1);
  if ($input) {
    char* copy = (char*)malloc(strlen($input) + 1);
    if (copy) strcpy(copy, $input);
    $1 = copy;
  }
}
/* identity_file is NULL by default, so the field only ever holds a copy made here. A copy
 * that cannot be made throws: silently dropping the path would give the node a new
 * identity instead of the persistent one. */
%{
static void nmj_free_identity_file(nm_node_config_t* c) {
  free((void*)c->identity_file);
  c->identity_file = NULL;
}
%}
%typemap(memberin) const char* identity_file {
  nmj_free_identity_file(arg1);
  if ($input) {
    char* copy = (char*)malloc(strlen($input) + 1);
    if (copy) {
      strcpy(copy, $input);
      $1 = copy;
    } else { /* no return: the Java string is still to be released */
      SWIG_JavaThrowException(jenv, SWIG_JavaOutOfMemoryError, "identity_file");
    }
  }
}
%extend nm_node_config {
  ~nm_node_config() {
    nmj_free_bind_addr($self);
    nmj_free_identity_file($self);
    free($self);
  }
}

/* ---- all-stream stats: a C array of structs, filled by nm_node_all_stream_stats ---- */
%include <carrays.i>
%array_functions(nm_stream_stats_t, nm_stream_stats_array)
/* ---- routes: the same, filled by nm_node_routes ---- */
%array_functions(nm_route_t, nm_route_array)

/* ---- the event fd, made usable from Java: poll() for readability ---- */
%{
#include <errno.h>
#include <poll.h>
%}
%inline %{
/* 1 when fd is readable, 0 after timeout_ms (-1 = forever), -1 on a poll error, or if fd
 * is not open (POLLNVAL: not 'readable'; Node never polls a freed node's fd, this is the
 * backstop). */
int nm_java_poll_readable(int fd, int timeout_ms) {
  struct pollfd p;
  int r;
  p.fd = fd;
  p.events = POLLIN;
  p.revents = 0;
  do {
    r = poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR); /* JVM signals: retry (the timeout restarts, rare) */
  return r > 0 && (p.revents & POLLNVAL) ? -1 : r;
}
%}
