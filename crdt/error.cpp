#include "crdt/error.hpp"

#include <string>

#include "interop/error_condition.hpp"

namespace hc::crdt {
namespace {

class CrdtCategory final : public GroupedCategory {
 public:
  const char* name() const noexcept override { return "hc.crdt"; }
  std::string message(int ev) const override {
    switch (static_cast<CrdtErrc>(ev)) {
      case CrdtErrc::malformed_diff: return "malformed DeltaCrdt diff";
      case CrdtErrc::malformed_slice: return "malformed AWLWWMap slice";
      case CrdtErrc::malformed_continuation: return "malformed Merkle diff continuation";
      case CrdtErrc::malformed_operation: return "malformed CRDT operation";
      case CrdtErrc::unsupported_operation: return "unsupported CRDT operation";
    }
    return "unknown hc.crdt error " + std::to_string(ev);
  }

 protected:
  // All of them are bytes from a peer (or a caller's message) breaking
  // DeltaCrdt's message shapes.
  ConditionGroups groups(int) const noexcept override { return {errc::protocol_violation}; }
};

}  // namespace

const std::error_category& crdt_category() noexcept {
  static const CrdtCategory category;
  return category;
}

std::error_code make_error_code(CrdtErrc e) noexcept { return {static_cast<int>(e), crdt_category()}; }

}  // namespace hc::crdt
