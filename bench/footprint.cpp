// Where an idle stream's memory goes: sizeof of netmesh's per-stream objects and the heap
// one default-constructed stream::Stream takes (its containers allocate on construction).
// Input for the "idle stream" target in BENCHMARKS.md; printed as CSV by bench/run.sh.
#include <malloc.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <vector>

#include "stream/stream.h"

namespace {
size_t heap() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}
}  // namespace

int main() {
  using namespace nm::stream;
  const size_t n = 10000;
  std::vector<std::shared_ptr<Stream>> v;
  v.reserve(n);
  size_t h0 = heap();
  for (size_t i = 0; i < n; ++i)
    v.push_back(std::make_shared<Stream>(1, i, StreamConfig{}, true, 1, 0));
  size_t h1 = heap();
  printf("item,bytes\n");
  printf("sizeof(stream::Stream),%zu\n", sizeof(Stream));
  printf("heap per make_shared<Stream> (object + containers),%.1f\n", double(h1 - h0) / n);
  printf("heap beyond the object (containers allocating when empty),%.1f\n",
         double(h1 - h0) / n - sizeof(Stream));
  printf("sizeof(std::condition_variable),%zu\n", sizeof(std::condition_variable));
  printf("sizeof(RetransmitBuffer),%zu\n", sizeof(RetransmitBuffer));
  printf("sizeof(ReorderBuffer),%zu\n", sizeof(ReorderBuffer));
  printf("sizeof(LossLedger),%zu\n", sizeof(LossLedger));
  size_t h2 = heap();
  std::vector<std::deque<int>> d(n);
  printf("heap per empty std::deque (libstdc++ map + first node),%.1f\n",
         double(heap() - h2) / n - sizeof(std::deque<int>));
  return 0;
}
