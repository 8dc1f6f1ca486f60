#include "session/session.h"

#include "crypto/aead.h"
#include "wire/compact_header.h"

namespace nm::session {

Session::Session(uint64_t peer_node_id, const sockaddr_storage& peer_addr,
                 const crypto::SessionKeys& keys, int64_t now_ns)
    : address(peer_addr),
      peer_node_id_(peer_node_id),
      keys_(keys),
      established_ns_(now_ns),
      last_rx_ns_(now_ns),
      last_heartbeat_rx_ns_(now_ns) {}

void Session::update_pacing_rate(double configured_rate) {
  double rate = configured_rate;
  if (cc) {
    double cc_rate = cc->pacing_rate(rtt);
    rate = rate > 0 ? std::min(rate, cc_rate) : cc_rate;
  }
  sender.set_rate(rate);
}

void Session::restart_path_estimates(double configured_rate, int64_t path_rtt_ns) {
  rtt = RttStats();
  if (path_rtt_ns > 0) {
    rtt.on_sample(path_rtt_ns, 0, 0);
    ++path.rtt_samples;
  }
  if (cc) {
    uint64_t flight = cc->in_flight();
    cc = make_congestion_controller(cc->algorithm(), max_packet());
    cc->on_sent(flight);
  }
  cc_before_large_losses.reset();  // the old path's controller: never to come back on this one
  cc_undo.forget();
  loss.reset_thresholds();
  probe_allowance = 0;
  ++path.restarts;
  update_pacing_rate(configured_rate);
}

void Session::restore_controller(std::unique_ptr<CongestionController> earlier) {
  CongestionController::undo(cc, std::move(earlier));
  cc->set_max_datagram(max_packet());  // (path MTU discovery may have moved it since)
  cc_undo.forget();
}

uint64_t Session::stamp(wire::Header& h, size_t payload_len, PacketBuffer& buf, const uint8_t* plaintext,
                       bool compact) {
  h.session_id = keys_.session_id;
  h.payload_len = static_cast<uint16_t>(payload_len);
  uint64_t pn = tx_counter_++;
  wire::set_nonce(h, keys_.nonce_prefix, pn);
  size_t header = compact && plaintext ? wire::encode_compact_header(h, buf.bytes()) : 0;
  if (header == 0) {
    wire::encode_header(h, buf.bytes());
    header = wire::kHeaderSize;
  }
  buf.header_len = header;
  buf.len = header + payload_len + wire::kTagSize;
  buf.arm(keys_.tx, h.nonce, plaintext);
  return pn;
}

bool decrypt_payload(const crypto::SessionKeys& keys, const wire::Header& h, std::span<uint8_t> datagram,
                     uint8_t* out) {
  // The nonce prefix comes from our own session id, never from the wire (0.23 does the same).
  uint8_t nonce[12];
  crypto::make_nonce(keys.nonce_prefix, wire::nonce_counter(h), nonce);
  uint8_t scratch[wire::kAadSize];
  std::span<const uint8_t> aad = wire::packet_aad(datagram.data(), h.header_bytes, scratch);
  uint8_t* data = datagram.data() + h.header_bytes;
  return crypto::aead_open_to(keys.rx, nonce, aad.data(), aad.size(), data, h.payload_len, data + h.payload_len,
                              out ? out : data);
}

bool Session::admissible(const wire::Header& h, std::span<const uint8_t> datagram) const {
  return datagram.size() == size_t{h.header_bytes} + h.payload_len + wire::kTagSize &&
         replay_.check(wire::nonce_counter(h));
}

OpenError Session::open(const wire::Header& h, std::span<uint8_t> datagram,
                        std::span<uint8_t>& plaintext, int64_t now_ns, bool decrypted) {
  if (datagram.size() != size_t{h.header_bytes} + h.payload_len + wire::kTagSize)
    return OpenError::kLengthMismatch;
  uint64_t counter = wire::nonce_counter(h);
  if (!replay_.check(counter)) return OpenError::kReplay;
  if (!decrypted && !decrypt_payload(keys_, h, datagram)) return OpenError::kAuthFailed;
  if (!replay_.commit(counter)) return OpenError::kReplay;
  last_rx_ns_ = now_ns;
  heard_ = true;
  plaintext = datagram.subspan(h.header_bytes, h.payload_len);
  return OpenError::kOk;
}

}  // namespace nm::session
