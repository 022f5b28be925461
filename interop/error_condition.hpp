// The project's error conditions: groups of error codes that callers decide
// on, whatever layer produced the code (Boost.Beast's `condition` next to its
// `error` enum). Every error enum of the project (hc::TermError,
// hc::TermTextError, hc::cnode::Errc, hc::cnode::TlsOptionError,
// hc::crdt::CrdtErrc, hc::horde::RegistryErrc, hc::horde::MessageErrc) maps
// its codes onto these, so
//
//   if (ec == hc::errc::name_taken) ...     // epmd name in use, already_registered
//   if (ec == hc::errc::unreachable) ...    // epmd down, refused, noconnection
//
// works on a code from any layer. A code may belong to two groups (e.g.
// epmd_unknown_node is both `unreachable` and `not_found`); its
// default_error_condition() is the first, its primary group.
//
// Foreign codes: std::errc values (system and generic category, and Asio's
// and Boost's errors converted to std::error_code, which map onto them) are
// grouped too, see kForeign in error_condition.cpp:
//   connection_refused, host_unreachable, network_unreachable,
//   address_not_available                    -> unreachable
//   connection_reset, connection_aborted, broken_pipe, not_connected,
//   Asio's misc eof                          -> connection_lost
//   timed_out                                -> timeout
// std::errc::address_in_use is deliberately NOT name_taken: it is a TCP port
// in use (--port), which the program must not report as "name in use".
//
// Header and categories are pure and thread-safe.
#pragma once

#include <system_error>

namespace hc {

enum class errc {
  // 0 is "no error" in std::error_condition; never used.
  handshake_failed = 1,  // the distribution handshake did not complete: wrong cookie, version, flags,
                         // malformed handshake message, a rejected status, a bad peer name
  protocol_violation,    // bytes that break a protocol: a malformed term, a frame over the limit, a bad
                         // distribution header or control message, a malformed epmd answer
  name_taken,            // a name is registered already: epmd name in use, Horde already_registered,
                         // a local process name held by another process
  unreachable,           // the peer cannot be reached: epmd unreachable, no such node in epmd,
                         // connection refused, noconnection
  connection_lost,       // a connection that was up went away: epmd closed it before answering,
                         // a reset, a broken pipe, end of stream
  timeout,               // a deadline passed (gen_server call timeout, std::errc::timed_out)
  not_found,             // no such process, registry, registration or node
  invalid_input,         // a caller's value is malformed: a TLS option file, Erlang term text, a
                         // select pattern (not peer bytes: those are protocol_violation)
  stopped,               // the node is stopping
};

const std::error_category& condition_category() noexcept;
std::error_condition make_error_condition(errc e) noexcept;

// The groups of one error code, primary first; errc{} (0) where none.
struct ConditionGroups {
  errc primary{};
  errc secondary{};
};

// Base of the project's error categories: default_error_condition() and
// equivalent() follow groups(). A category derives from it and says, per code,
// which groups the code belongs to.
class GroupedCategory : public std::error_category {
 public:
  std::error_condition default_error_condition(int ev) const noexcept override;
  bool equivalent(int ev, const std::error_condition& condition) const noexcept override;
  using std::error_category::equivalent;

 protected:
  virtual ConditionGroups groups(int ev) const noexcept = 0;
};

}  // namespace hc

template <>
struct std::is_error_condition_enum<hc::errc> : std::true_type {};
