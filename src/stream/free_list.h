// A bounded, mutex-guarded free list: the recycling behind the packet and payload pools.
// Pools keep theirs for the life of the process (buffers may come back during exit).
#pragma once
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace nm::stream {

template <typename T>
class FreeList {
 public:
  explicit FreeList(size_t cap) : cap_(cap) {}
  // Moves a kept item to `out`; false if none is kept.
  bool take(T& out) {
    std::lock_guard lk(mu_);
    if (items_.empty()) return false;
    out = std::move(items_.back());
    items_.pop_back();
    return true;
  }
  // Keeps `item`; false (item untouched) when the list is at its cap.
  bool give(T&& item) {
    std::lock_guard lk(mu_);
    if (items_.size() >= cap_) return false;
    items_.push_back(std::move(item));
    return true;
  }

 private:
  std::mutex mu_;
  std::vector<T> items_;
  size_t cap_;
};

}  // namespace nm::stream
