// The 'N.Crdt' process on one node without a BEAM (test-owned io_context,
// ManualTimerService): what it does with the messages of a peer's rounds.
#include "horde/crdt_process.hpp"

#include <boost/test/unit_test.hpp>

#include "cnode/node.hpp"
#include "support/polled_node.hpp"
#include "crdt/merkle_map.hpp"
#include "crdt/sync_messages.hpp"

using namespace hc;
using namespace hc::cnode;

namespace {

class Recorder final : public Process {
 public:
  explicit Recorder(std::vector<Term>* log) : log_(log) {}
  void handle_message(const Term& m) override { log_->push_back(m); }

 private:
  std::vector<Term>* log_;
};

using LocalNode = hc::test::PolledNode;

// {diff, %Diff{}} that starts a round of `peer` (an empty replica: root
// subtree [] ) towards `to`.
Term round_start(const Pid& peer, const Term& to) {
  crdt::MerkleMap empty;
  struct NoContent final : crdt::MerkleContent {
    Term merkle_key(crdt::EntryId) const override { return Term(); }
    Term merkle_value(crdt::EntryId) const override { return Term(); }
  } content;
  crdt::CausalDiff d{empty.prepare_partial_diff(crdt::MerkleMap::kSyncDepth, content),
                     Term::map({{Term(std::int64_t{7}), Term(0)}}), Term(peer), Term(peer), to, {}};
  return tuple(Atom("diff"), d.to_term());
}

std::size_t count_records(const std::vector<Term>& log, const char* tag) {
  std::size_t n = 0;
  for (const Term& m : log) n += m.is_tuple() && m.element(0)->is_atom(tag);
  return n;
}

// A 'Test.Crdt' process and a peer process that records what it is sent.
struct CrdtAndPeer {
  std::vector<Term> peer_log;
  LocalNode n;
  Pid peer;
  Pid crdt;
  CrdtAndPeer() {
    peer = n.node->spawn(std::make_unique<Recorder>(&peer_log));
    horde::CrdtProcessOptions o;
    o.name = Atom("Test.Crdt");
    crdt = n.node->spawn(std::make_unique<horde::CrdtProcess>(o), SpawnOptions{false, Atom("Test.Crdt"), false});
    n.settle();
  }
  horde::CrdtProcess& process() {
    auto* p = dynamic_cast<horde::CrdtProcess*>(n.node->find(crdt));
    BOOST_REQUIRE(p);
    return *p;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(crdt_process_test)

BOOST_FIXTURE_TEST_CASE(a_peer_round_superseded_by_a_queued_one_is_skipped, CrdtAndPeer) {
  // Three rounds of the same peer arrive together (a node that was busy):
  // only the last is answered. Both replicas are empty, so an answered round
  // is exactly one {ack_diff, _} back to the originator.
  for (int i = 0; i < 3; ++i) n.node->send(peer, crdt, round_start(peer, Term(crdt)));
  n.settle();
  BOOST_TEST(count_records(peer_log, "ack_diff") == 1u);
  // One at a time, every round is answered.
  n.node->send(peer, crdt, round_start(peer, Term(crdt)));
  n.settle();
  n.node->send(peer, crdt, round_start(peer, Term(crdt)));
  n.settle();
  BOOST_TEST(count_records(peer_log, "ack_diff") == 3u);
  BOOST_TEST(*process().stats_term().map_get(std::string_view("stale_diffs")) == Term(2));
}

// After a large absorb the next sync tick gives the freed heap back (once):
// counted in `stats` as heap_trims.
BOOST_FIXTURE_TEST_CASE(the_tick_after_many_changes_trims_the_heap_once, CrdtAndPeer) {
  auto trims = [&] { return *process().stats_term().map_get(std::string_view("heap_trims")); };
  auto add = [&](std::int64_t from, std::int64_t to) {
    for (std::int64_t i = from; i < to; ++i)
      n.node->send(peer, crdt,
                   tuple(Atom("$gen_cast"), tuple(Atom("operation"), tuple(Atom("add"), Term::list({Term(i), Term(1)})))));
    n.settle();
  };
  add(0, 9999);
  n.node->send(peer, crdt, Term(Atom("sync")));
  n.settle();
  BOOST_TEST(trims() == Term(0));  // below the threshold
  add(9999, 10000);
  n.node->send(peer, crdt, Term(Atom("sync")));
  n.settle();
  BOOST_TEST(trims() == Term(1));
  n.node->send(peer, crdt, Term(Atom("sync")));
  n.settle();
  BOOST_TEST(trims() == Term(1));  // nothing new since
}

BOOST_AUTO_TEST_SUITE_END()
