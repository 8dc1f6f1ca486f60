// Failures carry an nm_status plus a thread-local detail message (nm_last_error_message).
#pragma once
#include <string>

#include "netmesh.h"

namespace nm::node {

// Records `detail` for this thread and returns `status`, so failures read `return fail(...)`.
nm_status fail(nm_status status, std::string detail);
const char* last_error_detail();

}  // namespace nm::node
