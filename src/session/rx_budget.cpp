#include "session/rx_budget.h"

#include <cassert>

namespace nm::session {

void RxBudget::update(RxAccount& a, uint64_t before, uint64_t after) {
  if (after >= before) {
    a.held += after - before;
    held_ += after - before;
    return;
  }
  assert(a.held >= before - after && held_ >= before - after);  // never more than was charged
  a.held -= before - after;
  held_ -= before - after;
}

void RxBudget::release(RxAccount& a) {
  assert(held_ >= a.held);
  held_ -= a.held;
  a.held = 0;
}

}  // namespace nm::session
