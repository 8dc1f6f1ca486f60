#include "capi/handles.h"

#include <shared_mutex>
#include <unordered_map>

namespace nm::capi {

namespace {
// The top bits tag the handle kind so a stream token passed as a node is rejected.
constexpr uint64_t kNodeTag = uint64_t{1} << 62;
constexpr uint64_t kStreamTag = uint64_t{2} << 62;

struct Registry {
  std::shared_mutex mu;
  uint64_t next = 1;
  std::unordered_map<uint64_t, std::shared_ptr<node::Node>> nodes;
  std::unordered_map<uint64_t, StreamHandle> streams;
};
Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: handles may be used during exit
  return *r;
}
uint64_t token(const void* handle) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(handle)); }
}  // namespace

uint64_t node_token(nm_node_t* handle) { return token(handle); }

nm_node_t* register_node(std::shared_ptr<node::Node> node) {
  Registry& r = registry();
  std::unique_lock lk(r.mu);
  uint64_t t = kNodeTag | r.next++;
  r.nodes.emplace(t, std::move(node));
  return reinterpret_cast<nm_node_t*>(static_cast<uintptr_t>(t));
}

std::shared_ptr<node::Node> find_node(nm_node_t* handle) {
  Registry& r = registry();
  std::shared_lock lk(r.mu);
  auto it = r.nodes.find(token(handle));
  return it == r.nodes.end() ? nullptr : it->second;
}

std::shared_ptr<node::Node> unregister_node(nm_node_t* handle) {
  Registry& r = registry();
  std::unique_lock lk(r.mu);
  auto it = r.nodes.find(token(handle));
  if (it == r.nodes.end()) return nullptr;
  auto node = std::move(it->second);
  r.nodes.erase(it);
  return node;
}

nm_stream_t* register_stream(nm_node_t* node_handle, std::shared_ptr<node::Node> node,
                             node::StreamPtr stream) {
  Registry& r = registry();
  std::unique_lock lk(r.mu);
  uint64_t t = kStreamTag | r.next++;
  r.streams.emplace(t, StreamHandle{node, token(node_handle), std::move(stream),
                                    std::make_shared<std::atomic<bool>>(false)});
  return reinterpret_cast<nm_stream_t*>(static_cast<uintptr_t>(t));
}

bool find_stream(nm_stream_t* handle, StreamHandle& out) {
  Registry& r = registry();
  std::shared_lock lk(r.mu);
  auto it = r.streams.find(token(handle));
  if (it == r.streams.end()) return false;
  out = it->second;
  return true;
}

bool unregister_stream(nm_stream_t* handle, StreamHandle& out) {
  Registry& r = registry();
  std::unique_lock lk(r.mu);
  auto it = r.streams.find(token(handle));
  if (it == r.streams.end()) return false;
  out = std::move(it->second);  // its stream is released outside the registry lock
  r.streams.erase(it);
  return true;
}

}  // namespace nm::capi
