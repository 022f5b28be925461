// The codec against real BEAM output: every fixture recorded from OTP 25 /
// Elixir 1.14 decodes, re-encodes and decodes back to an equal term; and our
// encoding equals `term_to_binary(T, [{minor_version, 2}])` computed by a real
// `erl` byte for byte, for every fixture term without maps of more than 32
// keys (the BEAM writes those in hash order, see codec.hpp).
#include "interop/codec.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

using namespace hc;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

BOOST_TEST_DONT_PRINT_LOG_VALUE(Bytes)

namespace {

Bytes read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<fs::path> fixtures() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(HC_FIXTURES_DIR))
    if (e.path().extension() == ".etf") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Visit every subterm (iteratively: fixtures nest deeply enough for that to matter little,
// but the walk should not be the thing that limits depth).
template <typename F>
void walk(const Term& root, F&& f) {
  std::vector<const Term*> todo{&root};
  while (!todo.empty()) {
    const Term* t = todo.back();
    todo.pop_back();
    f(*t);
    for (const auto& e : t->tuple_elements()) todo.push_back(&e);
    for (const auto& e : t->list_elements()) todo.push_back(&e);
    if (t->type() == Term::Type::List) todo.push_back(&t->list_tail());
    for (const auto& [k, v] : t->map_entries()) {
      todo.push_back(&k);
      todo.push_back(&v);
    }
  }
}

bool has_hamt_map(const Term& t) {
  bool found = false;
  walk(t, [&](const Term& x) { found = found || x.map_size() > 32; });
  return found;
}

bool have_erl() { return std::system("command -v erl >/dev/null 2>&1") == 0; }

// term_to_binary(binary_to_term(In), [{minor_version, 2}]) by a real erl.
Bytes beam_reencode(const fs::path& in, const fs::path& out) {
  std::string cmd = "erl -noshell -eval '{ok, B} = file:read_file(\"" + in.string() +
                    "\"), ok = file:write_file(\"" + out.string() +
                    "\", term_to_binary(binary_to_term(B), [{minor_version, 2}])), halt().' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return {};
  return read_file(out);
}

fs::path temp_dir() {
  std::random_device rd;
  fs::path d = fs::temp_directory_path() / ("hc_codec_beam_" + std::to_string(rd()));
  fs::create_directories(d);
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(codec_beam_test)

BOOST_AUTO_TEST_CASE(every_fixture_round_trips) {
  auto files = fixtures();
  BOOST_REQUIRE_MESSAGE(files.size() >= 7, "fixtures missing in " HC_FIXTURES_DIR);
  for (const auto& f : files) {
    BOOST_TEST_CONTEXT(f.filename().string()) {
      Bytes bytes = read_file(f);
      auto t = decode(bytes);
      BOOST_REQUIRE_MESSAGE(t.ok(), t.message());
      Bytes again = encode(*t);
      auto back = decode(again);
      BOOST_REQUIRE_MESSAGE(back.ok(), back.message());
      BOOST_TEST((*back == *t));
      BOOST_TEST(encode(*back) == again);
      BOOST_TEST(back->hash() == t->hash());
    }
  }
}

BOOST_AUTO_TEST_CASE(encoding_matches_the_beam) {
  if (!have_erl()) {
    BOOST_TEST_MESSAGE("erl not found: skipping the byte-exact comparison");
    return;
  }
  fs::path dir = temp_dir();
  struct Cleanup {
    fs::path d;
    ~Cleanup() { std::error_code ec; fs::remove_all(d, ec); }
  } cleanup{dir};
  for (const auto& f : fixtures()) {
    BOOST_TEST_CONTEXT(f.filename().string()) {
      auto t = decode(read_file(f));
      BOOST_REQUIRE(t.ok());
      Bytes beam = beam_reencode(f, dir / (f.filename().string() + ".v2"));
      BOOST_REQUIRE_MESSAGE(!beam.empty(), "erl failed to re-encode");
      if (has_hamt_map(*t)) {
        // Same term, pairs of big maps in another order.
        auto b = decode(beam);
        BOOST_REQUIRE(b.ok());
        BOOST_TEST((*b == *t));
        BOOST_TEST(encode(*t).size() == beam.size());
      } else {
        BOOST_TEST(encode(*t) == beam);
      }
    }
  }
  // The phash2 golden list holds HAMT maps; compare its elements one by one.
  auto golden = decode(read_file(fs::path(HC_FIXTURES_DIR) / "phash2_golden.etf"));
  BOOST_REQUIRE(golden.ok());
  auto beam_golden = decode(beam_reencode(fs::path(HC_FIXTURES_DIR) / "phash2_golden.etf", dir / "golden.v2"));
  BOOST_REQUIRE(beam_golden.ok());
  BOOST_TEST((*beam_golden == *golden));
}

BOOST_AUTO_TEST_CASE(fixtures_have_the_expected_shapes) {
  const fs::path dir(HC_FIXTURES_DIR);
  // registry.etf: 336 event maps with seq 1..n, dir :send | :recv, pid a pid.
  auto reg = decode(read_file(dir / "registry.etf"));
  BOOST_REQUIRE(reg.ok());
  BOOST_REQUIRE(reg->is_proper_list());
  BOOST_TEST(reg->list_elements().size() == 336u);
  std::int64_t seq = 0;
  for (const auto& ev : reg->list_elements()) {
    BOOST_REQUIRE(ev.is_map());
    const Term* s = ev.map_get("seq");
    BOOST_REQUIRE(s);
    BOOST_TEST((s->as_int() == ++seq));
    const Term* d = ev.map_get("dir");
    BOOST_REQUIRE(d);
    BOOST_TEST((d->is_atom("send") || d->is_atom("recv")));
    BOOST_TEST(ev.map_get("pid")->is_pid());
    BOOST_TEST(ev.map_get("node")->is_atom());
  }
  auto sup = decode(read_file(dir / "supervisor.etf"));
  BOOST_REQUIRE(sup.ok());
  BOOST_TEST(sup->list_elements().size() == 309u);

  // The final state holds DeltaCrdt structs whose values are MapSets of {node_id, counter}.
  auto fin = decode(read_file(dir / "registry_final_state.etf"));
  BOOST_REQUIRE(fin.ok());
  for (const char* key : {"crdt", "impl", "crdt_to_map", "ets", "procs", "markers", "steps", "info"})
    BOOST_TEST(fin->map_get(key) != nullptr, key);
  std::size_t mapsets = 0, dot_sets = 0, crdts = 0;
  walk(*fin, [&](const Term& t) {
    if (is_struct(t, elixir_module("MapSet"))) {
      auto els = mapset_elements(t);
      BOOST_TEST(els.has_value());
      if (els) {
        ++mapsets;
        // AWLWWMap dots: MapSet of {node_id, counter}.
        if (!els->empty() && std::all_of(els->begin(), els->end(), [](const Term& e) {
              return e.is_tuple(2) && e.element(0)->is_integer() && e.element(1)->is_integer();
            }))
          ++dot_sets;
      }
    }
    if (is_struct(t, elixir_module("DeltaCrdt.CausalCrdt"))) ++crdts;
  });
  BOOST_TEST(mapsets > 0u);
  BOOST_TEST(dot_sets > 0u);
  BOOST_TEST(crdts == 2u);

  // phash2_golden.etf: 3112 {Term, phash2, phash2 2^32, phash2 2^32-1} tuples.
  auto golden = decode(read_file(dir / "phash2_golden.etf"));
  BOOST_REQUIRE(golden.ok());
  BOOST_TEST(golden->list_elements().size() == 3112u);
  for (const auto& row : golden->list_elements()) {
    BOOST_REQUIRE(row.is_tuple(4));
    BOOST_TEST(row.element(1)->is_integer());
  }

  // Wire frames: maps with a kind; dist frames carry the raw bytes.
  auto wire = decode(read_file(dir / "registry_wire.frames.etf"));
  BOOST_REQUIRE(wire.ok());
  std::size_t dist = 0;
  for (const auto& fr : wire->list_elements()) {
    const Term* kind = fr.map_get("kind");
    BOOST_REQUIRE(kind);
    if (kind->is_atom("dist_header")) {
      ++dist;
      BOOST_TEST(fr.map_get("raw")->is_binary());
      BOOST_TEST(fr.map_get("ctrl")->is_tuple());
    }
  }
  BOOST_TEST(dist > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
