#include "node/status.h"

namespace nm::node {

namespace {
thread_local std::string t_detail;
}

nm_status fail(nm_status status, std::string detail) {
  t_detail = std::move(detail);
  return status;
}

const char* last_error_detail() { return t_detail.c_str(); }

}  // namespace nm::node
