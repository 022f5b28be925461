#include "interop/error_condition.hpp"

#include <string>
#include <string_view>

namespace hc {
namespace {

struct Foreign {
  std::errc code;
  errc group;
};
// std::errc values grouped (the header says why address_in_use is absent).
constexpr Foreign kForeign[] = {
    {std::errc::connection_refused, errc::unreachable},
    {std::errc::host_unreachable, errc::unreachable},
    {std::errc::network_unreachable, errc::unreachable},
    {std::errc::address_not_available, errc::unreachable},
    {std::errc::connection_reset, errc::connection_lost},
    {std::errc::connection_aborted, errc::connection_lost},
    {std::errc::broken_pipe, errc::connection_lost},
    {std::errc::not_connected, errc::connection_lost},
    {std::errc::timed_out, errc::timeout},
};

// Asio's boost::asio::error::eof (category "asio.misc", value 2): the peer
// closed the stream. Matched by name so that this layer needs no Asio.
bool is_asio_eof(const std::error_code& code) noexcept {
  return code.value() == 2 && std::string_view(code.category().name()) == "asio.misc";
}

class ConditionCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hc"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::handshake_failed: return "distribution handshake failed";
      case errc::protocol_violation: return "protocol violation";
      case errc::name_taken: return "name taken";
      case errc::unreachable: return "unreachable";
      case errc::connection_lost: return "connection lost";
      case errc::timeout: return "timeout";
      case errc::not_found: return "not found";
      case errc::invalid_input: return "invalid input";
      case errc::stopped: return "stopped";
    }
    return "unknown hc condition " + std::to_string(ev);
  }
  // Codes of our own categories answer through their GroupedCategory; this
  // is reached for foreign codes (std::errc, Asio) only.
  bool equivalent(const std::error_code& code, int condition) const noexcept override {
    if (is_asio_eof(code)) return static_cast<errc>(condition) == errc::connection_lost;
    // Compared through the code's own category (not its
    // default_error_condition(): Boost 1.74's converted codes answer with a
    // wrapped Boost generic category, yet compare equal to std::errc).
    for (const Foreign& f : kForeign)
      if (static_cast<int>(f.group) == condition && code == f.code) return true;
    return false;
  }
  using std::error_category::equivalent;
};

}  // namespace

const std::error_category& condition_category() noexcept {
  static const ConditionCategory category;
  return category;
}

std::error_condition make_error_condition(errc e) noexcept { return {static_cast<int>(e), condition_category()}; }

std::error_condition GroupedCategory::default_error_condition(int ev) const noexcept {
  const ConditionGroups g = groups(ev);
  if (g.primary == errc{}) return {ev, *this};
  return make_error_condition(g.primary);
}

bool GroupedCategory::equivalent(int ev, const std::error_condition& condition) const noexcept {
  if (condition.category() != condition_category()) return default_error_condition(ev) == condition;
  const ConditionGroups g = groups(ev);
  const int c = condition.value();
  return (g.primary != errc{} && static_cast<int>(g.primary) == c) ||
         (g.secondary != errc{} && static_cast<int>(g.secondary) == c);
}

}  // namespace hc
