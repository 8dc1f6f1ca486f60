// Adaptive flush (node_coalesce.cpp): whether the packet a send call leaves partly filled
// goes out with the call, or stays open for the next send of the burst to fill (the loop
// thread sends it if none comes first).
#pragma once
#include <cstddef>

namespace nm::node {

struct CallEnd {
  bool lone_call;      // the call started no burst: nothing open, nothing sent in the last
                       // 20 us, nothing waiting for the pacer
  bool behind_pacer;   // the stream's packets wait for the pacer, which takes the open one next
  size_t call_events;  // events the call was given
  size_t open_bytes;   // payload in the open packet
  size_t room;         // payload a packet holds
};

// A lone call's packet leaves with it: a request or a ping is never held back. So does the
// last packet of a call of several events once it is half full: the next call could add
// only half a packet to it, not worth waking the loop thread for (a wake-up and two thread
// switches per call, which for calls a few microseconds apart cost more than the fuller
// packets saved: 64-byte events from Java and C# went 1.25 x and 1.4 x faster without it).
// Single-event calls keep filling the packet: they share packets only across calls.
constexpr bool sends_open_packet_now(const CallEnd& c) {
  if (c.lone_call) return true;
  return c.call_events > 1 && !c.behind_pacer && 2 * c.open_bytes >= c.room;
}

}  // namespace nm::node
