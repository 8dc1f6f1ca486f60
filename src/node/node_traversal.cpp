// NAT traversal, as net-mesh 0.23 does it (wire/traversal.h): reflex probes (which address
// a peer sees our datagrams come from) and the NAT classification they give. Rendezvous and
// hole punching: node_rendezvous.cpp.
#include <ifaddrs.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "node/clock.h"
#include "node/node.h"
#include "node/status.h"
#include "node/waiter_listing.h"
#include "wire/frames.h"
#include "wire/traversal.h"

namespace nm::node {
namespace {

// Requests a probe repeats within its timeout (0.23 sends one: a lost datagram costs it
// the whole 3 s).
constexpr int kReflexTries = 3;

// This host's interface addresses (what "open" compares with when bound to a wildcard).
std::vector<sockaddr_storage> host_addresses() {
  std::vector<sockaddr_storage> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)) continue;
    sockaddr_storage a{};
    std::memcpy(&a, i->ifa_addr, i->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    out.push_back(a);
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

void Node::send_traversal_event(session::Session& s, uint16_t subprotocol, std::span<const uint8_t> body,
                                std::vector<Outgoing>& out) {
  wire::Header h;
  h.subprotocol_id = subprotocol;
  h.stream_id = subprotocol;  // as 0.23: the subprotocol's own stream, which no one reads
  h.sequence = s.traversal_seq++;
  h.event_count = 1;
  Outgoing& o = out.emplace_back();
  uint8_t* end = wire::write_frame(o.packet->payload(), body);
  stamp_untracked(s, h, static_cast<size_t>(end - o.packet->payload()), *o.packet);
  address_to(s, o);
}

void Node::handle_reflex(session::Session& s, Frames frames, const sockaddr_storage& from, bool routed,
                         std::vector<Outgoing>& out) {
  bool answered = false;
  for (auto body : frames) {
    if (body.empty()) {
      // A request: the answer is where this datagram came from (0.23 answers with the
      // address its session was made with). Through relays that would be a relay's
      // address, which tells the asker nothing: no answer. One answer per packet (0.23
      // sends one request per packet): 4-byte empty frames must not buy 107-byte answers.
      uint8_t answer[wire::kAddressBlockSize];
      if (answered) continue;
      answered = true;
      if (routed || s.routed || !wire::encode_address_block(from, answer)) {
        ++stats_.drop_malformed;
        continue;
      }
      if (!s.budget.spend(wire::kPacketOverhead + wire::kFrameOverhead + sizeof answer)) {
        ++stats_.responses_deferred;
        continue;
      }
      send_traversal_event(s, wire::kSubprotocolReflex, answer, out);
      continue;
    }
    auto seen = wire::decode_address_block(body);
    if (!seen) {
      ++stats_.drop_malformed;
      continue;
    }
    for (ReflexProbe* p : reflex_probes_) {  // answers nobody asked for are ignored
      if (p->peer != s.peer_node_id() || p->answer) continue;
      p->answer = *seen;
      reflex_cv_.notify_all();
    }
  }
}

nm_status Node::probe_reflex(uint64_t peer_id, int timeout_ms, sockaddr_storage& out) {
  {
    MutexLock lk(mu_);
    session::Session* s = session_for(peer_id);
    if (!s) return fail(NM_ERR_NOT_CONNECTED, "no session with peer " + std::to_string(peer_id));
    if (s->routed)
      return fail(NM_ERR_NOT_CONNECTED,
                  "peer " + std::to_string(peer_id) + " is reached through relays: it cannot see our address");
  }
  ReflexProbe probe{peer_id, std::nullopt};
  ReflexProbe* probes[] = {&probe};
  if (!run_reflex_probes(probes, timeout_ms)) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  if (!probe.answer)
    return fail(NM_ERR_TIMEOUT, "no reflex answer from peer " + std::to_string(peer_id) + " within " +
                                    std::to_string(timeout_ms) + " ms");
  out = *probe.answer;
  return NM_OK;
}

bool Node::run_reflex_probes(std::span<ReflexProbe* const> probes, int timeout_ms) {
  MutexLock lk(mu_);
  WaiterListing listed(lk, reflex_probes_, probes);
  auto answered = [&]() REQUIRES(mu_) {
    return std::all_of(probes.begin(), probes.end(), [](const ReflexProbe* p) { return p->answer.has_value(); });
  };
  // kReflexTries rounds spread over the timeout, each asking every peer still silent.
  auto start = std::chrono::steady_clock::now();
  auto span = std::chrono::milliseconds(std::max(timeout_ms, 0));
  for (int round = 1; round <= kReflexTries && !answered() && !stopping_; ++round) {
    std::vector<Outgoing> out;
    for (ReflexProbe* p : probes)
      if (session::Session* s = session_for(p->peer); s && !s->routed && !p->answer)
        send_traversal_event(*s, wire::kSubprotocolReflex, {}, out);
    flush(lk, out, 0);
    lk.lock();
    reflex_cv_.wait_until(lk.native(), start + span * round / kReflexTries,
                          [&]() REQUIRES(mu_) { return answered() || stopping_; });
  }
  // Out of the list under the lock: nothing writes the answers after this.
  listed.end();
  return !stopping_;
}

nm_status Node::classify_nat(int timeout_ms, NatType& type, std::optional<sockaddr_storage>& reflex) {
  // Two peers reached directly, as 0.23 asks (a peer behind relays sees a relay).
  std::vector<ReflexProbe> probes;
  {
    MutexLock lk(mu_);
    for (auto& [peer, s] : sessions_)
      if (!s->routed && s->confirmed && probes.size() < 2) probes.push_back({peer, std::nullopt});
  }
  if (probes.size() < 2) return fail(NM_ERR_NOT_CONNECTED, "classifying needs two peers reached directly");
  ReflexProbe* list[] = {&probes[0], &probes[1]};
  if (!run_reflex_probes(list, timeout_ms)) return fail(NM_ERR_SHUTDOWN, "node is shutting down");
  std::vector<sockaddr_storage> observed;
  for (const ReflexProbe& p : probes)
    if (p.answer) observed.push_back(*p.answer);
  if (observed.empty())  // nothing learned: the last verdict stands (as in 0.23)
    return fail(NM_ERR_TIMEOUT, "no reflex answer within " + std::to_string(timeout_ms) + " ms");
  NatType verdict = node::classify_nat(socket_.local_address(), host_addresses(), observed);
  MutexLock lk(mu_);
  nat_type_ = verdict;
  reflex_addr_ = observed.back();
  type = nat_type_;
  reflex = reflex_addr_;
  return NM_OK;
}

void Node::nat_state(NatType& type, std::optional<sockaddr_storage>& reflex) {
  MutexLock lk(mu_);
  type = nat_type_;
  reflex = reflex_addr_;
}

}  // namespace nm::node
