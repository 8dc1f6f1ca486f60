#include "capi/entry.h"

#include <exception>
#include <new>
#include <string>

#include "node/status.h"

namespace nm::capi {

namespace {
// Recording the detail may itself fail (out of memory): the status still gets out.
nm_status fail_quietly(nm_status status, const char* detail) noexcept {
  try {
    return node::fail(status, detail);
  } catch (...) {
    return status;
  }
}
}  // namespace

nm_status exception_status() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return fail_quietly(NM_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail_quietly(NM_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail_quietly(NM_ERR_INTERNAL, "unknown exception");
  }
}

nm_status wrong_node() { return node::fail(NM_ERR_WRONG_NODE, "stream handle belongs to another node"); }

nm_status lookup(nm_node_t* handle, std::shared_ptr<node::Node>& out) {
  if (!handle) return node::fail(NM_ERR_INVALID_ARGUMENT, "node must not be NULL");
  out = find_node(handle);
  if (!out) return node::fail(NM_ERR_INVALID_HANDLE, "node handle is not live (freed or never issued)");
  return NM_OK;
}

nm_status lookup(nm_stream_t* handle, StreamHandle& h, std::shared_ptr<node::Node>& owner) {
  if (!handle) return node::fail(NM_ERR_INVALID_ARGUMENT, "stream must not be NULL");
  if (!find_stream(handle, h))
    return node::fail(NM_ERR_INVALID_HANDLE, "stream handle is not live (freed or never issued)");
  owner = h.node.lock();
  if (!owner) return node::fail(NM_ERR_SHUTDOWN, "the stream's node was freed");
  return NM_OK;
}

}  // namespace nm::capi
