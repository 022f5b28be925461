// The error conditions group the term layer's codes, and std::errc/Asio
// codes, as interop/error_condition.hpp documents.
#include "interop/error_condition.hpp"

#include <boost/test/unit_test.hpp>

#include "interop/error.hpp"
#include "interop/term_text.hpp"

using hc::errc;

namespace {
// Every condition, to check that a code matches its groups and no other.
constexpr errc kAll[] = {errc::handshake_failed, errc::protocol_violation, errc::name_taken,
                         errc::unreachable,      errc::connection_lost,    errc::timeout,
                         errc::not_found,        errc::invalid_input,      errc::stopped};

// The conditions `ec` compares equal to.
std::vector<errc> groups_of(std::error_code ec) {
  std::vector<errc> out;
  for (errc c : kAll)
    if (ec == c) out.push_back(c);
  return out;
}
using Groups = std::vector<errc>;
}  // namespace

BOOST_TEST_DONT_PRINT_LOG_VALUE(errc)
BOOST_TEST_DONT_PRINT_LOG_VALUE(Groups)

BOOST_AUTO_TEST_SUITE(error_condition_test)

BOOST_AUTO_TEST_CASE(term_codec_errors_are_protocol_violations) {
  for (hc::TermError e : {hc::TermError::truncated, hc::TermError::bad_version, hc::TermError::unknown_tag,
                          hc::TermError::nesting_too_deep, hc::TermError::duplicate_map_key,
                          hc::TermError::atom_table_full})
    BOOST_TEST((groups_of(e) == Groups{errc::protocol_violation}), make_error_code(e).message());
  // Our own bug, not the peer's bytes.
  BOOST_TEST(groups_of(hc::TermError::ei_failure).empty());
  BOOST_TEST((make_error_code(hc::TermError::truncated).default_error_condition() ==
              make_error_condition(errc::protocol_violation)));
}

BOOST_AUTO_TEST_CASE(term_text_errors_are_invalid_input) {
  BOOST_TEST((groups_of(hc::TermTextError::unexpected_end) == Groups{errc::invalid_input}));
  BOOST_TEST((groups_of(hc::TermTextError::variable_not_allowed) == Groups{errc::invalid_input}));
  auto r = hc::parse_term("{a, ");
  BOOST_REQUIRE(!r);
  BOOST_TEST((r.error() == errc::invalid_input));
}

BOOST_AUTO_TEST_CASE(std_errc_and_asio_codes_are_grouped) {
  BOOST_TEST((groups_of(std::make_error_code(std::errc::connection_refused)) == Groups{errc::unreachable}));
  BOOST_TEST((groups_of(std::error_code(ECONNREFUSED, std::system_category())) == Groups{errc::unreachable}));
  BOOST_TEST((groups_of(std::make_error_code(std::errc::host_unreachable)) == Groups{errc::unreachable}));
  BOOST_TEST((groups_of(std::make_error_code(std::errc::connection_reset)) == Groups{errc::connection_lost}));
  BOOST_TEST((groups_of(std::make_error_code(std::errc::broken_pipe)) == Groups{errc::connection_lost}));
  BOOST_TEST((groups_of(std::make_error_code(std::errc::timed_out)) == Groups{errc::timeout}));
  // A TCP port in use (--port) is not a node name in use.
  BOOST_TEST(groups_of(std::make_error_code(std::errc::address_in_use)).empty());
  BOOST_TEST(groups_of(std::make_error_code(std::errc::invalid_argument)).empty());
  BOOST_TEST(groups_of(std::error_code()).empty());
}

BOOST_AUTO_TEST_CASE(conditions_have_names) {
  BOOST_TEST(make_error_condition(errc::name_taken).message() == "name taken");
  BOOST_TEST(make_error_condition(errc::unreachable).message() == "unreachable");
  BOOST_TEST(std::string(hc::condition_category().name()) == "hc");
}

BOOST_AUTO_TEST_SUITE_END()
