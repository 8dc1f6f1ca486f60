// An intrusive least-recently-used order: O(1) to mark an element used, to take it out and
// to find the oldest. Elements embed an LruHook; a hook knows its list, so an element moves
// itself to the back when it is used, without knowing who keeps the order. Not thread-safe
// (the node's lock guards it).
#pragma once
#include <cstddef>

namespace nm::stream {

template <typename T>
class LruList;

template <typename T>
class LruHook {
 public:
  explicit LruHook(T* owner) : owner_(owner) {}
  LruHook(const LruHook&) = delete;
  LruHook& operator=(const LruHook&) = delete;
  ~LruHook() { unlink(); }

  bool linked() const { return list_ != nullptr; }
  // Most recently used from now on (nothing if in no list).
  void touch() {
    if (!list_ || list_->tail_ == this) return;
    LruList<T>* list = list_;
    list->remove(*this);
    list->append(*this);
  }
  void unlink() {
    if (list_) list_->remove(*this);
  }
  // The element used next after this one (towards the most recent), if any.
  T* newer() const { return next_ ? next_->owner_ : nullptr; }

 private:
  friend class LruList<T>;
  T* owner_;
  LruList<T>* list_ = nullptr;
  LruHook* prev_ = nullptr;
  LruHook* next_ = nullptr;
};

template <typename T>
class LruList {
 public:
  LruList() = default;
  LruList(const LruList&) = delete;
  LruList& operator=(const LruList&) = delete;
  ~LruList() {
    while (head_) remove(*head_);  // elements may outlive the list
  }

  // Adds (or moves) `h` as the most recently used.
  void push_back(LruHook<T>& h) {
    h.unlink();
    append(h);
  }
  T* oldest() const { return head_ ? head_->owner_ : nullptr; }
  size_t size() const { return size_; }

 private:
  friend class LruHook<T>;
  void append(LruHook<T>& h) {
    h.list_ = this;
    h.prev_ = tail_;
    h.next_ = nullptr;
    (tail_ ? tail_->next_ : head_) = &h;
    tail_ = &h;
    ++size_;
  }
  void remove(LruHook<T>& h) {
    (h.prev_ ? h.prev_->next_ : head_) = h.next_;
    (h.next_ ? h.next_->prev_ : tail_) = h.prev_;
    h.list_ = nullptr;
    h.prev_ = h.next_ = nullptr;
    --size_;
  }

  LruHook<T>* head_ = nullptr;  // least recently used
  LruHook<T>* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace nm::stream
