// A FIFO with random access that allocates nothing while empty. Streams keep two of them
// (inbound events, unacknowledged packets); libstdc++'s std::deque allocates ~600 bytes
// even when empty, which is most of an idle stream's footprint.
#pragma once
#include <cstddef>
#include <memory>
#include <utility>

namespace nm::stream {

template <typename T>
class RingQueue {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  T& front() { return slots_[head_]; }
  const T& front() const { return slots_[head_]; }
  T& operator[](size_t i) { return slots_[(head_ + i) & (capacity_ - 1)]; }
  const T& operator[](size_t i) const { return slots_[(head_ + i) & (capacity_ - 1)]; }

  void push_back(T&& value) {
    if (size_ == capacity_) grow();
    slots_[(head_ + size_) & (capacity_ - 1)] = std::move(value);
    ++size_;
  }
  void pop_front() {
    slots_[head_] = T();  // release what the element owns now, not when overwritten
    head_ = (head_ + 1) & (capacity_ - 1);
    if (--size_ > 0) return;
    head_ = 0;
    // Emptied after a burst: the slots go too, so a queue that once held thousands of
    // entries does not keep their room for good.
    if (capacity_ > kKeptWhenEmpty) clear();
  }
  void clear() {
    slots_.reset();
    capacity_ = size_ = head_ = 0;
  }
  template <typename F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < size_; ++i) f((*this)[i]);
  }
  template <typename F>
  void for_each(F&& f) {
    for (size_t i = 0; i < size_; ++i) f((*this)[i]);
  }

 private:
  static constexpr size_t kKeptWhenEmpty = 16;
  void grow() {
    size_t capacity = capacity_ ? capacity_ * 2 : 4;  // powers of two: index by mask
    auto slots = std::make_unique<T[]>(capacity);
    for (size_t i = 0; i < size_; ++i) slots[i] = std::move((*this)[i]);
    slots_ = std::move(slots);
    capacity_ = capacity;
    head_ = 0;
  }

  std::unique_ptr<T[]> slots_;
  size_t capacity_ = 0;
  size_t size_ = 0;
  size_t head_ = 0;
};

}  // namespace nm::stream
