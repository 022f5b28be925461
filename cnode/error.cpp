#include "cnode/error.hpp"

#include "interop/error_condition.hpp"

namespace hc::cnode {
namespace {
class Category final : public GroupedCategory {
 public:
  const char* name() const noexcept override { return "hc.cnode"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::frame_too_large: return "frame exceeds the maximum frame size";
      case Errc::bad_handshake_message: return "malformed handshake message";
      case Errc::unsupported_version: return "unsupported distribution protocol version";
      case Errc::missing_mandatory_flags: return "peer lacks mandatory distribution flags";
      case Errc::bad_peer_name: return "unknown or malformed peer node name";
      case Errc::bad_cookie: return "handshake digest mismatch (wrong cookie)";
      case Errc::handshake_rejected: return "handshake rejected by peer";
      case Errc::bad_dist_header: return "malformed distribution frame header";
      case Errc::unsupported_dist_header: return "unsupported distribution header (atom cache/fragments)";
      case Errc::malformed_term: return "malformed external term";
      case Errc::bad_control_message: return "malformed control message";
      case Errc::unknown_control_op: return "unknown control message operation";
      case Errc::epmd_failure: return "connection to epmd lost (epmd closed it before answering)";
      case Errc::epmd_name_in_use: return "the node name is in use (already registered in epmd)";
      case Errc::epmd_unreachable: return "epmd is unreachable";
      case Errc::epmd_unknown_node: return "epmd has no node of that name (not running)";
      case Errc::epmd_bad_answer: return "epmd sent a malformed answer";
      case Errc::noproc: return "no such process";
      case Errc::timeout: return "timeout";
      case Errc::noconnection: return "no connection to node";
      case Errc::not_connected: return "not connected";
      case Errc::call_failed: return "call failed";
      case Errc::node_stopped: return "node stopped";
      case Errc::dial_timeout: return "no connection within the dial deadline";
      case Errc::pending_queue_full: return "too many messages wait for the connection to come up";
      case Errc::send_queue_full: return "too many bytes queued for the peer (it does not read fast enough)";
      case Errc::name_registered: return "the process name is registered by another process";
    }
    return "unknown hc.cnode error";
  }

 protected:
  // The groups error.hpp names next to each code.
  ConditionGroups groups(int ev) const noexcept override {
    switch (static_cast<Errc>(ev)) {
      case Errc::bad_handshake_message: return {errc::handshake_failed, errc::protocol_violation};
      case Errc::unsupported_version:
      case Errc::missing_mandatory_flags:
      case Errc::bad_peer_name:
      case Errc::bad_cookie:
      case Errc::handshake_rejected: return {errc::handshake_failed};
      case Errc::frame_too_large:
      case Errc::bad_dist_header:
      case Errc::unsupported_dist_header:
      case Errc::malformed_term:
      case Errc::bad_control_message:
      case Errc::unknown_control_op:
      case Errc::epmd_bad_answer: return {errc::protocol_violation};
      case Errc::epmd_failure:
      case Errc::not_connected:
      case Errc::send_queue_full: return {errc::connection_lost};
      case Errc::epmd_name_in_use:
      case Errc::name_registered: return {errc::name_taken};
      case Errc::epmd_unreachable:
      case Errc::noconnection:
      case Errc::pending_queue_full: return {errc::unreachable};
      case Errc::dial_timeout: return {errc::unreachable, errc::timeout};
      case Errc::epmd_unknown_node: return {errc::unreachable, errc::not_found};
      case Errc::noproc: return {errc::not_found};
      case Errc::timeout: return {errc::timeout};
      case Errc::node_stopped: return {errc::stopped};
      case Errc::call_failed: return {};
    }
    return {};
  }
};
}  // namespace

const std::error_category& cnode_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace hc::cnode
