// Opaque C handles are registry tokens, never pointers to memory: a freed, unknown or
// wrong-kind handle is detected by lookup instead of being dereferenced. Tokens are never
// reused, so a freed handle stays invalid forever.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>

#include "netmesh.h"
#include "node/node.h"

namespace nm::capi {

struct StreamHandle {
  std::weak_ptr<node::Node> node;
  uint64_t node_token;
  node::StreamPtr stream;
  // Set when the handle is freed: calls blocked on it (a receive, a blocking send) return.
  std::shared_ptr<std::atomic<bool>> released;
};

nm_node_t* register_node(std::shared_ptr<node::Node> node);
std::shared_ptr<node::Node> find_node(nm_node_t* handle);
std::shared_ptr<node::Node> unregister_node(nm_node_t* handle);

nm_stream_t* register_stream(nm_node_t* node_handle, std::shared_ptr<node::Node> node,
                             node::StreamPtr stream);
bool find_stream(nm_stream_t* handle, StreamHandle& out);
// Takes the handle out of the registry (into `out`); false if it was not live.
bool unregister_stream(nm_stream_t* handle, StreamHandle& out);
uint64_t node_token(nm_node_t* handle);

}  // namespace nm::capi
