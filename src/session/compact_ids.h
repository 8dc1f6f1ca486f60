// Which session a compact header names. It states only the low 32 bits of the session id
// (4 bytes of every data packet fewer than the whole id): a node finds the session by them.
// Two sessions of one node share them about once in 2^32 pairs (the ids are handshake
// hashes, chosen by neither side): only the first holds them, and the other announces no
// compact headers in its hello, so its peer sends it 0.23's header with the whole id.
#pragma once
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace nm::session {

class CompactIds {
 public:
  // Held by a session while it lives: its low bits name it, and no other session.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept : ids_(o.ids_), session_id_(o.session_id_) { o.ids_ = nullptr; }
    Lease& operator=(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { release(); }
    explicit operator bool() const { return ids_ != nullptr; }

   private:
    friend class CompactIds;
    Lease(CompactIds* ids, uint64_t session_id) : ids_(ids), session_id_(session_id) {}
    void release();
    CompactIds* ids_ = nullptr;
    uint64_t session_id_ = 0;
  };

  // The low bits of session_id for that session; an empty lease if another session holds them.
  Lease claim(uint64_t session_id);
  // The whole id of the session holding these bits, or 0 (no session has id 0: 0.23's
  // handshake packets carry it).
  uint64_t find(uint32_t bits) const;
  size_t size() const { return by_bits_.size(); }

 private:
  std::unordered_map<uint32_t, uint64_t> by_bits_;
};

}  // namespace nm::session
