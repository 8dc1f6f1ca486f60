#include "session/compact_ids.h"

#include "wire/compact_header.h"

namespace nm::session {

CompactIds::Lease& CompactIds::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    release();
    ids_ = o.ids_;
    session_id_ = o.session_id_;
    o.ids_ = nullptr;
  }
  return *this;
}

void CompactIds::Lease::release() {
  if (ids_) ids_->by_bits_.erase(wire::compact_session_bits(session_id_));
  ids_ = nullptr;
}

CompactIds::Lease CompactIds::claim(uint64_t session_id) {
  if (session_id == 0 || !by_bits_.emplace(wire::compact_session_bits(session_id), session_id).second) return {};
  return Lease(this, session_id);
}

uint64_t CompactIds::find(uint32_t bits) const {
  auto it = by_bits_.find(bits);
  return it == by_bits_.end() ? 0 : it->second;
}

}  // namespace nm::session
