#include "crdt/key_list.hpp"

#include "crdt/merkle_map.hpp"  // encoded_part_bytes
#include "interop/etf_view.hpp"

namespace hc::crdt {
namespace {
constexpr std::uint8_t kNilExt = 106;
}  // namespace

std::optional<KeyListReader> KeyListReader::open(const Term& keys) {
  KeyListReader r;
  if (keys.is_proper_list()) {
    r.held_ = keys;
    r.terms_ = r.held_.list_elements();
    r.count_ = r.terms_.size();
    return r;
  }
  const Bitstring* b = encoded_part_bytes(keys);
  if (!b) return std::nullopt;
  auto list = EtfView(b->bytes).list(0);
  if (!list) return std::nullopt;
  r.held_ = keys;
  r.bytes_ = b->bytes;
  r.pos_ = list->first;
  r.count_ = list->count;
  return r;
}

KeyListReader KeyListReader::over(std::span<const Term> keys) {
  KeyListReader r;
  r.terms_ = keys;
  r.count_ = keys.size();
  return r;
}

bool KeyListReader::is_key_list(const Term& keys) { return open(keys).has_value(); }

bool KeyListReader::read(std::size_t n, std::vector<Term>& out) {
  if (!error_.empty()) return false;
  const std::size_t end = next_ + std::min(n, count_ - next_);
  if (bytes_.empty()) {
    out.insert(out.end(), terms_.begin() + static_cast<std::ptrdiff_t>(next_),
               terms_.begin() + static_cast<std::ptrdiff_t>(end));
    next_ = end;
    return true;
  }
  const EtfView v(bytes_);
  for (; next_ < end; ++next_) {
    auto key = v.decode(pos_, pos_);
    if (!key) {
      error_ = "key " + std::to_string(next_ + 1) + " of " + std::to_string(count_) + ": " + key.what();
      return false;
    }
    out.push_back(std::move(*key));
  }
  // A proper list: NIL_EXT after the last element (an empty list is
  // NIL_EXT itself, which list() accepted), and nothing after it.
  if (next_ == count_ && count_ > 0 && (v.tag(pos_) != kNilExt || pos_ + 1 != bytes_.size())) {
    error_ = "the keys list is not a proper list";
    return false;
  }
  return true;
}

void KeyListReader::release() {
  held_ = Term();
  terms_ = {};
  bytes_ = {};
}

}  // namespace hc::crdt
