// Golden replay of the recorded Horde runs (test/fixtures/registry.etf,
// supervisor.etf; see fixtures/README.md) through SyncEngine.
//
// For each node, the CRDT process is rebuilt and fed every message its real
// DeltaCrdt received, in order; everything our engine sends (sync diffs with
// their Merkle continuations, get_diff, state slices, acks, gen_server
// replies and the owner's {crdt_update, Diffs}) must equal, term for term and
// in order, what the real process sent. At the end, the state and the whole
// Merkle tree must equal the recorded final :sys.get_state.
//
// Reconstruction: the trace starts after each CRDT process was initialised,
// so its initial state is rebuilt from the node's own first dots (those not
// produced by a traced operation); the timestamps of local adds are looked
// up by dot in every element that appears anywhere in the recordings (slices,
// Merkle leaves, final states), since System.monotonic_time is not traced.
#include "crdt/sync_engine.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iterator>
#include <map>

#include "interop/codec.hpp"

using namespace hc;
using namespace hc::crdt;

namespace {

Term load_etf(const std::string& name) {
  std::ifstream in(std::string(HC_FIXTURES_DIR) + "/" + name, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open fixture " << name);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto t = decode(bytes);
  BOOST_REQUIRE_MESSAGE(t.ok(), "cannot decode " << name);
  return *t;
}

const Term& field(const Term& m, const char* name) {
  const Term* v = m.map_get(std::string_view(name));
  BOOST_REQUIRE_MESSAGE(v, "missing field " << name);
  return *v;
}

struct ObservedElement {
  Term key, value, ts;
};

// Records every `Key => #{{Value, Ts} => MapSet}` found anywhere in `t`.
void collect_elements(const Term& t, std::map<Dot, ObservedElement>& out) {
  if (t.is_tuple()) {
    for (const Term& e : t.tuple_elements()) collect_elements(e, out);
  } else if (t.is_list()) {
    for (const Term& e : t.list_elements()) collect_elements(e, out);
  } else if (t.is_map()) {
    for (const auto& [k, v] : t.map_entries()) {
      bool element_map = v.is_map() && v.map_size() > 0 && !struct_name(v);
      if (element_map) {
        for (const auto& [el, set] : v.map_entries()) {
          if (!el.is_tuple(2) || !mapset_elements(set)) {
            element_map = false;
            break;
          }
        }
      }
      if (element_map) {
        for (const auto& [el, set] : v.map_entries()) {
          auto dots = mapset_elements(set);
          for (const Term& d : *dots)
            if (auto dot = dot_from_term(d)) out[*dot] = {k, el.tuple_elements()[0], el.tuple_elements()[1]};
        }
      }
      collect_elements(k, out);
      collect_elements(v, out);
    }
  }
}

// The message a gen_server reply becomes: {Tag, Reply} to the alias or pid.
std::pair<Term, Term> reply_send(const Term& from, const Term& reply) {
  const Term& pid = from.tuple_elements()[0];
  const Term& tag = from.tuple_elements()[1];
  if (tag.is_list() && !tag.is_nil() && !tag.list_tail().is_nil()) return {tag.list_tail(), tuple(tag, reply)};
  return {pid, tuple(tag, reply)};
}

struct ReplayStats {
  std::size_t recv = 0, sends = 0, continuations = 0, slices = 0;
};

void replay(const std::string& trace_file, const std::string& final_file, const std::string& impl_name) {
  Term events = load_etf(trace_file);
  Term final_state = load_etf(final_file);
  const Term& crdts = field(final_state, "crdt");
  const Atom crdt_proc = elixir_module(impl_name + ".Crdt");
  const Term owner = Term(elixir_module(impl_name));

  std::map<Dot, ObservedElement> observed;
  collect_elements(events, observed);
  collect_elements(crdts, observed);

  for (const auto& [node, crdt] : crdts.map_entries()) {
    BOOST_TEST_CONTEXT("replay of " << trace_file << " on " << node) {
      const std::int64_t node_id = *field(crdt, "node_id").as_int();
      const Term& final_crdt_state = field(crdt, "crdt_state");
      std::vector<Term> recvs, sends;
      Term self;
      std::size_t traced_adds = 0;
      for (const Term& ev : events.list_elements()) {
        if (!(field(ev, "node") == node) || !(field(ev, "proc") == Term(crdt_proc))) continue;
        self = field(ev, "pid");
        if (field(ev, "dir").is_atom("recv")) {
          const Term& m = field(ev, "msg");
          recvs.push_back(m);
          if (m.is_record("$gen_call", 3)) {
            const Term& req = m.tuple_elements()[2];
            if (req.is_record("operation", 2) && req.tuple_elements()[1].is_record("add", 2)) ++traced_adds;
            if (req.is_record("bulk_operation", 2))
              for (const Term& op : req.tuple_elements()[1].list_elements())
                if (op.is_record("add", 2)) ++traced_adds;
          }
        } else {
          sends.push_back(tuple(field(ev, "to"), field(ev, "msg")));
        }
      }
      // Initial state: this node's own dots that no traced operation made.
      auto final_awlww = AWLWWMap::from_term(final_crdt_state);
      BOOST_REQUIRE(final_awlww);
      const std::int64_t pre_trace_adds =
          final_awlww->context().max(node_id) - static_cast<std::int64_t>(traced_adds);
      BOOST_REQUIRE_GE(pre_trace_adds, 0);
      TermPairs initial_values;
      for (std::int64_t c = 1; c <= pre_trace_adds; ++c) {
        auto it = observed.find(Dot{node_id, c});
        BOOST_REQUIRE_MESSAGE(it != observed.end(), "pre-trace element " << c << " never observed");
        initial_values.emplace_back(
            it->second.key, Term::map({{tuple(it->second.value, it->second.ts), make_mapset({Dot{node_id, c}.to_term()})}}));
      }
      Term initial = make_struct(elixir_module("DeltaCrdt.AWLWWMap"),
                                 {{Term(Atom("dots")), pre_trace_adds ? Term::map({{Term(node_id), Term(pre_trace_adds)}})
                                                                      : Term::map({})},
                                  {Term(Atom("value")), Term::map(std::move(initial_values))}});
      auto initial_state = AWLWWMap::from_term(initial);
      BOOST_REQUIRE(initial_state);

      SyncEngine* engine_ptr = nullptr;
      SyncConfig cfg;
      cfg.node_id = node_id;
      cfg.self = self;
      cfg.sync_interval_ms = 300;
      auto clock = [&]() -> std::int64_t {
        Dot next = engine_ptr->state().context().next_dot(node_id);
        auto it = observed.find(next);
        BOOST_REQUIRE_MESSAGE(it != observed.end(), "timestamp of dot " << next.counter << " never observed");
        return *it->second.ts.as_int();
      };
      SyncEngine engine(cfg, clock, std::move(*initial_state));
      engine_ptr = &engine;

      std::vector<Term> produced;
      ReplayStats stats;
      for (const Term& m : recvs) {
        ++stats.recv;
        // The test is the host here: it parses the OTP envelopes, as
        // horde/crdt_part does with cnode's parsers.
        SyncActions actions;
        if (m.is_record("$gen_call", 3)) actions = engine.handle_call(m.tuple_elements()[2], m.tuple_elements()[1]);
        else if (m.is_record("DOWN", 5)) actions = engine.handle_down(m.tuple_elements()[3]);
        else if (!m.is_record("EXIT", 3)) actions = engine.handle_message(m);
        for (const SyncAction& a : actions) {
          if (auto* s = std::get_if<action::Send>(&a)) {
            produced.push_back(tuple(s->to, s->message));
          } else if (auto* r = std::get_if<action::Reply>(&a)) {
            auto [to, msg] = reply_send(r->from, r->reply);
            produced.push_back(tuple(to, msg));
          } else if (auto* n = std::get_if<action::Notify>(&a)) {
            produced.push_back(tuple(owner, tuple(Atom("crdt_update"), changes_to_term(n->diffs))));
          } else if (auto* w = std::get_if<action::Warning>(&a)) {
            BOOST_ERROR("engine warning: " << w->text);
          }
        }
      }
      BOOST_CHECK_EQUAL(produced.size(), sends.size());
      for (std::size_t i = 0; i < std::min(produced.size(), sends.size()); ++i) {
        const Term& msg = sends[i].tuple_elements()[1];
        if (msg.is_record("diff", 2)) ++stats.continuations;
        if (msg.is_record("diff", 3)) ++stats.slices;
        ++stats.sends;
        BOOST_CHECK_MESSAGE(produced[i] == sends[i], "send #" << i << " differs:\n  recorded " << to_string(sends[i])
                                                              << "\n  produced " << to_string(produced[i]));
      }
      BOOST_CHECK_MESSAGE(engine.state().to_term() == final_crdt_state,
                          "final state differs:\n  recorded " << to_string(final_crdt_state) << "\n  produced "
                                                              << to_string(engine.state().to_term()));
      const Term& recorded_tree = field(field(field(crdt, "merkle_map"), "merkle_tree"), "tree");
      BOOST_CHECK_MESSAGE(engine.mutable_state().merkle_tree_term() == recorded_tree,
                          "final Merkle tree differs:\n  recorded " << to_string(recorded_tree));
      BOOST_TEST_MESSAGE(trace_file << " " << node << ": " << stats.recv << " messages replayed, " << stats.sends
                                    << " sends matched (" << stats.continuations << " {diff, Diff}, " << stats.slices
                                    << " state slices)");
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crdt_golden_test)

BOOST_AUTO_TEST_CASE(registry_trace_replays_exactly) {
  replay("registry.etf", "registry_final_state.etf", "LabRegistry");
}

BOOST_AUTO_TEST_CASE(supervisor_trace_replays_exactly) {
  replay("supervisor.etf", "supervisor_final_state.etf", "LabSup");
}

// Applying the recorded inbound slices to the recorded state before each of
// them gives the recorded result: checked by the replay above; here the
// final states of both nodes must also agree with each other.
BOOST_AUTO_TEST_CASE(final_states_of_both_nodes_agree) {
  for (const char* f : {"registry_final_state.etf", "supervisor_final_state.etf"}) {
    Term fs = load_etf(f);
    std::vector<Term> states;
    for (const auto& [node, crdt] : field(fs, "crdt").map_entries()) states.push_back(field(crdt, "crdt_state"));
    BOOST_REQUIRE_EQUAL(states.size(), 2u);
    auto a = AWLWWMap::from_term(states[0]);
    auto b = AWLWWMap::from_term(states[1]);
    BOOST_REQUIRE(a && b);
    BOOST_CHECK(a->to_term() == states[0]);
    BOOST_CHECK(a->merkle_root() == b->merkle_root());
  }
}

BOOST_AUTO_TEST_SUITE_END()
