// Failures carry an nm_status plus a thread-local detail message (nm_last_error_message).
#pragma once
#include <string>

#include "netmesh.h"

namespace nm::node {

// Records `detail` for this thread's current call and returns `status`, so failures read
// `return fail(...)`.
nm_status fail(nm_status status, std::string detail);
// Around each call into the library (capi::entry): the detail recorded during the call
// becomes the one shown only if the call fails.
void begin_call();
void end_call(nm_status status);
const char* last_error_detail();

}  // namespace nm::node
