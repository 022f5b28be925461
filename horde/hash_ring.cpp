#include "horde/hash_ring.hpp"

#include <algorithm>

#include "interop/phash2.hpp"

namespace hc::horde {

namespace {

// term_to_binary(Atom) as OTP 25 encodes it by default (minor_version 1):
// ATOM_EXT with Latin-1 bytes when every code point is below 256, otherwise
// SMALL_ATOM_UTF8_EXT / ATOM_UTF8_EXT with the UTF-8 bytes.
Term atom_to_binary_term(const Atom& a) {
  std::string_view utf8 = a.text();
  std::vector<std::uint8_t> latin1;
  bool is_latin1 = true;
  for (std::size_t i = 0; i < utf8.size() && is_latin1;) {
    auto c = static_cast<std::uint8_t>(utf8[i]);
    if (c < 0x80) {
      latin1.push_back(c);
      ++i;
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      latin1.push_back(static_cast<std::uint8_t>(((c & 0x03) << 6) | (static_cast<std::uint8_t>(utf8[i + 1]) & 0x3F)));
      i += 2;
    } else {
      is_latin1 = false;
    }
  }
  std::vector<std::uint8_t> out{131};
  if (is_latin1) {
    out.push_back(100);
    out.push_back(static_cast<std::uint8_t>(latin1.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(latin1.size() & 0xFF));
    out.insert(out.end(), latin1.begin(), latin1.end());
  } else if (utf8.size() < 256) {
    out.push_back(119);
    out.push_back(static_cast<std::uint8_t>(utf8.size()));
    out.insert(out.end(), utf8.begin(), utf8.end());
  } else {
    out.push_back(118);
    out.push_back(static_cast<std::uint8_t>(utf8.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(utf8.size() & 0xFF));
    out.insert(out.end(), utf8.begin(), utf8.end());
  }
  return Term::binary(std::span<const std::uint8_t>(out));
}

}  // namespace

std::uint32_t HashRing::hash_key(const Term& key) {
  if (const Atom* a = key.as_atom()) return phash2(atom_to_binary_term(*a), kHashRange);
  return phash2(key, kHashRange);
}

void HashRing::add_node(const Term& node, unsigned weight) {
  if (std::find(nodes_.begin(), nodes_.end(), node) != nodes_.end()) return;
  const std::size_t index = nodes_.size();
  nodes_.push_back(node);
  for (unsigned i = 1; i <= weight; ++i) {
    const std::uint32_t point = phash2(tuple(node, Term(static_cast<std::int64_t>(i))), kHashRange);
    ring_.emplace(point, index);  // keeps an existing point: gb_trees:insert raises key_exists
  }
}

void HashRing::add_nodes(std::span<const Term> nodes) {
  for (const Term& n : nodes) add_node(n);
}

const Term* HashRing::node_for_hash(std::uint32_t hash) const {
  if (nodes_.empty() || ring_.empty()) return nullptr;
  auto it = ring_.lower_bound(hash);
  if (it == ring_.end()) it = ring_.begin();
  return &nodes_[it->second];
}

const Term* HashRing::key_to_node(const Term& key) const {
  if (nodes_.empty()) return nullptr;
  return node_for_hash(hash_key(key));
}

std::vector<Term> HashRing::nodes() const { return {nodes_.rbegin(), nodes_.rend()}; }

std::vector<std::pair<std::uint32_t, Term>> HashRing::points() const {
  std::vector<std::pair<std::uint32_t, Term>> out;
  out.reserve(ring_.size());
  for (const auto& [p, i] : ring_) out.emplace_back(p, nodes_[i]);
  return out;
}

}  // namespace hc::horde
