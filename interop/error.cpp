#include "interop/error.hpp"

#include <string>

#include "interop/error_condition.hpp"

namespace hc {
namespace {

class TermCategory final : public GroupedCategory {
 public:
  const char* name() const noexcept override { return "hc.term"; }
  std::string message(int ev) const override {
    switch (static_cast<TermError>(ev)) {
      case TermError::truncated: return "term truncated";
      case TermError::bad_version: return "bad external term format version byte (expected 131)";
      case TermError::unknown_tag: return "unknown external term format tag";
      case TermError::unsupported_tag: return "unsupported external term format tag";
      case TermError::bad_length: return "inconsistent length field";
      case TermError::absurd_length: return "element count exceeds the remaining input";
      case TermError::atom_too_long: return "atom longer than 255 characters";
      case TermError::invalid_utf8_atom: return "atom text is not valid UTF-8";
      case TermError::expected_atom: return "expected an atom";
      case TermError::expected_integer: return "expected an integer";
      case TermError::expected_pid: return "expected a pid";
      case TermError::nesting_too_deep: return "terms nested too deeply";
      case TermError::trailing_bytes: return "trailing bytes after the term";
      case TermError::bad_bigint: return "malformed bignum";
      case TermError::bad_float: return "malformed or non-finite float";
      case TermError::duplicate_map_key: return "duplicate map key";
      case TermError::ei_failure: return "erl_interface rejected validated input";
      case TermError::atom_table_full: return "atom table full (a new atom beyond the atom limit)";
    }
    return "unknown hc.term error " + std::to_string(ev);
  }

 protected:
  // Every decode error is bytes breaking the format, including a peer
  // exceeding our atom budget (like a frame over --max-frame); ei_failure
  // is our bug, in no group.
  ConditionGroups groups(int ev) const noexcept override {
    switch (static_cast<TermError>(ev)) {
      case TermError::ei_failure: return {};
      default: return {errc::protocol_violation};
    }
  }
};

}  // namespace

const std::error_category& term_category() noexcept {
  static const TermCategory category;
  return category;
}

std::error_code make_error_code(TermError e) noexcept { return {static_cast<int>(e), term_category()}; }

}  // namespace hc
