// Fresh-key sync cost: replica A holds N keys the empty replica B has never
// seen; one full sync round A -> B (ping-pong, get_diff/slice, join), every
// message through the ETF codec as on the wire.
//
//   sync_fresh_bench [N...]   (default 10000 30000)
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <vector>

#include "crdt/sync_engine.hpp"
#include "interop/codec.hpp"

using namespace hc;
using namespace hc::crdt;

namespace {

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

SyncEngine make_engine(std::int64_t id, std::uint32_t pid_id) {
  SyncConfig cfg;
  cfg.node_id = id;
  cfg.self = Term(Pid{Atom("bench@127.0.0.1"), pid_id, 0, 1});
  static std::int64_t t = 1;
  return SyncEngine(cfg, [] { return ++t; });
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::int64_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoll(argv[i]));
  if (sizes.empty()) sizes = {10'000, 30'000};
  for (std::int64_t n : sizes) {
    SyncEngine a = make_engine(1, 1), b = make_engine(2, 2);
    const Term owner = Term(Pid{Atom("bench@127.0.0.1"), 42, 0, 1});
    for (std::int64_t i = 0; i < n; ++i)
      a.put(tuple(Atom("key"), binary("name-" + std::to_string(i))), tuple(owner, Atom("nil")));
    const Term b_name = b.config().self;
    double c0 = cpu_seconds();
    std::size_t messages = 0, bytes = 0, shipped = 0;
    std::deque<std::pair<SyncEngine*, Term>> q;
    auto route = [&](const SyncActions& actions) {
      for (const auto& act : actions) {
        auto* send = std::get_if<action::Send>(&act);
        if (!send) continue;
        SyncEngine* dest = send->to == b_name ? &b : &a;
        double e0 = cpu_seconds();
        auto enc = encode(send->message);
        double e1 = cpu_seconds();
        Term dec = *decode(enc);
        if (std::getenv("HC_FRESH_VERBOSE"))
          std::printf("  send %s %zu bytes: encode %.1f ms, decode %.1f ms\n", dest == &b ? "->B" : "->A", enc.size(),
                      (e1 - e0) * 1000, (cpu_seconds() - e1) * 1000);
        bytes += enc.size();
        ++messages;
        if (send->message.is_record("diff", 3)) shipped += send->message.tuple_elements()[2].list_elements().size();
        q.emplace_back(dest, std::move(dec));
      }
    };
    route(a.set_neighbours({b_name}));
    // Rounds started while the first is in flight (a sync interval shorter
    // than a round): DeltaCrdt does not hold them back.
    const int extra = std::getenv("HC_FRESH_EXTRA_ROUNDS") ? std::atoi(std::getenv("HC_FRESH_EXTRA_ROUNDS")) : 0;
    for (int r = 0; r < extra; ++r) route(a.on_sync_timer());
    double first_full = -1;
    while (!q.empty()) {
      auto [dest, msg] = q.front();
      q.pop_front();
      double h0 = cpu_seconds();
      auto acts = dest->handle_message(msg);
      if (std::getenv("HC_FRESH_VERBOSE"))
        std::printf("  %s handles %s: %.1f ms\n", dest == &b ? "B" : "A",
                    to_string(msg).substr(0, 12).c_str(), (cpu_seconds() - h0) * 1000);
      route(acts);
      if (first_full < 0 && b.state().size() == static_cast<std::size_t>(n)) first_full = cpu_seconds() - c0;
    }
    double cpu = cpu_seconds() - c0;
    bool same = a.mutable_state().merkle_root() == b.mutable_state().merkle_root();
    std::printf("fresh sync: %lld keys: %.1f ms CPU, %zu messages, %zu bytes, %zu keys shipped, converged %s; B had all keys after %.1f ms CPU\n",
                static_cast<long long>(n), cpu * 1000, messages, bytes, shipped, same ? "yes" : "NO", first_full * 1000);
  }
  return 0;
}
