// The one way into the library from C: every exported function runs its body through
// entry(), which
//  - keeps C++ exceptions from crossing the C boundary (a throwing body returns
//    NM_ERR_INTERNAL with the exception's message as the detail; a string getter returns
//    ""), and
//  - looks up the handles the function takes: a NULL handle is NM_ERR_INVALID_ARGUMENT, a
//    freed or never issued one NM_ERR_INVALID_HANDLE, a stream whose node was freed
//    NM_ERR_SHUTDOWN, a stream passed with another node's handle NM_ERR_WRONG_NODE.
// The body gets the live objects (NodeRef, StreamRef), which keep them alive for the call.
#pragma once
#include <memory>
#include <type_traits>
#include <utility>

#include "capi/handles.h"
#include "node/status.h"
#include "netmesh.h"

namespace nm::capi {

// The status and detail for the exception in flight (call from a catch block only).
nm_status exception_status() noexcept;
nm_status wrong_node();
nm_status lookup(nm_node_t* handle, std::shared_ptr<node::Node>& out);
nm_status lookup(nm_stream_t* handle, StreamHandle& h, std::shared_ptr<node::Node>& owner);

struct NodeRef {
  nm_node_t* handle;
  std::shared_ptr<node::Node> node;
  node::Node* operator->() const { return node.get(); }
};

struct StreamRef {
  StreamHandle h;
  std::shared_ptr<node::Node> node;  // the stream's node, alive for the call
  const node::StreamPtr& stream() const { return h.stream; }
  node::Node* operator->() const { return node.get(); }
};

// No handle: the body alone, guarded.
template <class F>
auto entry(F&& body) noexcept -> decltype(body()) {
  using R = decltype(body());
  static_assert(std::is_same_v<R, nm_status> || std::is_same_v<R, const char*>);
  if constexpr (std::is_same_v<R, nm_status>) {
    node::begin_call();
    nm_status s;
    try {
      s = body();
    } catch (...) {
      s = exception_status();
    }
    node::end_call(s);
    return s;
  } else {
    try {
      return body();
    } catch (...) {
      return "";
    }
  }
}

// A node handle: body(NodeRef&).
template <class F>
nm_status entry(nm_node_t* handle, F&& body) noexcept {
  return entry([&]() -> nm_status {
    NodeRef n{handle, nullptr};
    if (nm_status s = lookup(handle, n.node); s != NM_OK) return s;
    return body(n);
  });
}

// A stream handle: body(StreamRef&).
template <class F>
nm_status entry(nm_stream_t* handle, F&& body) noexcept {
  return entry([&]() -> nm_status {
    StreamRef s;
    if (nm_status st = lookup(handle, s.h, s.node); st != NM_OK) return st;
    return body(s);
  });
}

// A node and one of its streams: body(NodeRef&, StreamRef&).
template <class F>
nm_status entry(nm_node_t* node_handle, nm_stream_t* stream_handle, F&& body) noexcept {
  return entry(node_handle, [&](NodeRef& n) -> nm_status {
    StreamRef s;
    if (nm_status st = lookup(stream_handle, s.h, s.node); st != NM_OK) return st;
    if (s.h.node_token != node_token(node_handle)) return wrong_node();
    return body(n, s);
  });
}

}  // namespace nm::capi
