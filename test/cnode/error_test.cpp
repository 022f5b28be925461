// The distribution layer's codes belong to the groups cnode/error.hpp names
// (interop/error_condition.hpp), and to no other.
#include "cnode/error.hpp"

#include <boost/asio/error.hpp>
#include <boost/test/unit_test.hpp>

#include "cnode/tls_options.hpp"

using hc::errc;
using hc::cnode::Errc;

namespace {
constexpr errc kAll[] = {errc::handshake_failed, errc::protocol_violation, errc::name_taken,
                         errc::unreachable,      errc::connection_lost,    errc::timeout,
                         errc::not_found,        errc::invalid_input,      errc::stopped};
using Groups = std::vector<errc>;
Groups groups_of(std::error_code ec) {
  Groups out;
  for (errc c : kAll)
    if (ec == c) out.push_back(c);
  return out;
}
}  // namespace

BOOST_TEST_DONT_PRINT_LOG_VALUE(Groups)

BOOST_AUTO_TEST_SUITE(error_test)

BOOST_AUTO_TEST_CASE(epmd_codes_tell_name_in_use_from_connection_lost) {
  BOOST_TEST((groups_of(Errc::epmd_name_in_use) == Groups{errc::name_taken}));
  BOOST_TEST((groups_of(Errc::epmd_failure) == Groups{errc::connection_lost}));
  BOOST_TEST((groups_of(Errc::epmd_unreachable) == Groups{errc::unreachable}));
  BOOST_TEST((groups_of(Errc::epmd_unknown_node) == Groups{errc::unreachable, errc::not_found}));
  BOOST_TEST((groups_of(Errc::epmd_bad_answer) == Groups{errc::protocol_violation}));
  BOOST_TEST(make_error_code(Errc::epmd_name_in_use).message() != make_error_code(Errc::epmd_failure).message());
}

BOOST_AUTO_TEST_CASE(handshake_codes_are_handshake_failed) {
  for (Errc e : {Errc::unsupported_version, Errc::missing_mandatory_flags, Errc::bad_peer_name, Errc::bad_cookie,
                 Errc::handshake_rejected})
    BOOST_TEST((groups_of(e) == Groups{errc::handshake_failed}), make_error_code(e).message());
  // Malformed handshake bytes are both.
  BOOST_TEST((groups_of(Errc::bad_handshake_message) == Groups{errc::handshake_failed, errc::protocol_violation}));
  BOOST_TEST((make_error_code(Errc::bad_cookie).default_error_condition() ==
              make_error_condition(errc::handshake_failed)));
}

BOOST_AUTO_TEST_CASE(frame_and_control_codes_are_protocol_violations) {
  for (Errc e : {Errc::frame_too_large, Errc::bad_dist_header, Errc::unsupported_dist_header, Errc::malformed_term,
                 Errc::bad_control_message, Errc::unknown_control_op})
    BOOST_TEST((groups_of(e) == Groups{errc::protocol_violation}), make_error_code(e).message());
}

BOOST_AUTO_TEST_CASE(connection_manager_codes) {
  // A dial that ran out of time is both: callers waiting on "unreachable" and on "timeout" see it.
  BOOST_TEST((groups_of(Errc::dial_timeout) == Groups{errc::unreachable, errc::timeout}));
  BOOST_TEST((groups_of(Errc::pending_queue_full) == Groups{errc::unreachable}));
  BOOST_TEST((groups_of(Errc::send_queue_full) == Groups{errc::connection_lost}));
}

BOOST_AUTO_TEST_CASE(process_codes) {
  BOOST_TEST((groups_of(Errc::noproc) == Groups{errc::not_found}));
  BOOST_TEST((groups_of(Errc::timeout) == Groups{errc::timeout}));
  BOOST_TEST((groups_of(Errc::noconnection) == Groups{errc::unreachable}));
  BOOST_TEST((groups_of(Errc::not_connected) == Groups{errc::connection_lost}));
  BOOST_TEST((groups_of(Errc::node_stopped) == Groups{errc::stopped}));
  BOOST_TEST((groups_of(Errc::name_registered) == Groups{errc::name_taken}));
  // The server's exit reason (CallResult::reason()) says why; no group.
  BOOST_TEST(groups_of(Errc::call_failed).empty());
  // A group is not the code: two codes of one group stay apart.
  BOOST_TEST((make_error_code(Errc::noproc) != make_error_code(Errc::timeout)));
  BOOST_TEST((make_error_code(Errc::epmd_unreachable) != make_error_code(Errc::noconnection)));
}

BOOST_AUTO_TEST_CASE(tls_option_errors_are_invalid_input) {
  BOOST_TEST((groups_of(hc::cnode::TlsOptionError::unknown_option) == Groups{errc::invalid_input}));
  BOOST_TEST((groups_of(hc::cnode::TlsOptionError::unreadable_file) == Groups{errc::invalid_input}));
}

BOOST_AUTO_TEST_CASE(asio_errors_map_through_std_errc) {
  // What a dial or a read reports, converted to std::error_code as the node does.
  BOOST_TEST((groups_of(boost::system::error_code(boost::asio::error::connection_refused)) ==
              Groups{errc::unreachable}));
  BOOST_TEST((groups_of(boost::system::error_code(boost::asio::error::connection_reset)) ==
              Groups{errc::connection_lost}));
  BOOST_TEST((groups_of(boost::system::error_code(boost::asio::error::eof)) == Groups{errc::connection_lost}));
  BOOST_TEST((groups_of(boost::system::error_code(boost::asio::error::timed_out)) == Groups{errc::timeout}));
}

BOOST_AUTO_TEST_SUITE_END()
