#include "node/status.h"

namespace nm::node {

namespace {
// What nm_last_error_message shows: the detail of this thread's last failed call. A call
// records details in t_call's first (a call may fail inside and still succeed, as a send
// retrying after backpressure), and only a call that fails publishes its own, so the shown
// string stays put, as documented, until the next call fails.
thread_local std::string t_shown;
thread_local std::string t_call;
}  // namespace

nm_status fail(nm_status status, std::string detail) {
  t_call = std::move(detail);
  return status;
}

void begin_call() { t_call.clear(); }

void end_call(nm_status status) {
  if (status != NM_OK) t_shown.swap(t_call);
}

const char* last_error_detail() { return t_shown.c_str(); }

}  // namespace nm::node
