// Erlang term *text* (the syntax `file:consult/1` reads), parsed into the term
// model: configuration files written for BEAM nodes (`-ssl_dist_optfile`,
// sys.config) are read by the C++ node without any BEAM involved.
//
// Accepted, as erl_scan/erl_parse accept them for literal terms:
// - integers `42`, `-7`, `16#ff`, `2#1010`, `1_000`, characters `$a`, `$\n`;
//   floats `1.5`, `-2.0e-3`;
// - atoms `ok`, `node@host`, `'quoted atom'` (escapes as in Erlang);
// - strings `"text"` (a list of code points, UTF-8 input; adjacent strings
//   concatenate, `""` is `[]`);
// - binaries `<<>>`, `<<"text">>`, `<<1,2,3>>`, `<<"text"/utf8>>`;
// - tuples `{a, b}`, lists `[a, b | T]`, maps `#{k => v}`;
// - `%` comments and any whitespace.
// Everything else (variables, funs, pids, operators, records) is a named error.
//
// Spec: https://www.erlang.org/doc/reference_manual/data_types.html
// Pure, no I/O. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "interop/result.hpp"
#include "interop/term.hpp"

namespace hc {

// Every code is hc::errc::invalid_input (interop/error_condition.hpp).
enum class TermTextError {
  unexpected_end = 1,    // the text ends inside a term, or before the final '.'
  unexpected_token,      // a character or token that cannot start/continue a term here
  missing_dot,           // a term not followed by '.' (consult)
  bad_number,            // malformed integer/float/base (e.g. 37#1, 2#3, 1.e5)
  bad_escape,            // an unknown or incomplete escape in a quoted atom/string/char
  bad_utf8,              // string or quoted-atom text that is not valid UTF-8
  atom_too_long,         // more than 255 characters
  variable_not_allowed,  // `Name` or `_`: configuration files hold literal terms only
  bad_binary_element,    // a binary element other than a 0..255 integer or a string
  nesting_too_deep,      // more than 10 000 nested terms
};

const std::error_category& term_text_category() noexcept;
std::error_code make_error_code(TermTextError e) noexcept;

// Where an error was found: 1-based line and column (in bytes).
struct TextPosition {
  int line = 1;
  int column = 1;
};

// Every term of `text`, each terminated by '.', as file:consult/1 returns them.
// An error's detail (Result::what()) is the offending position, "line L,
// column C"; `where` (when given) is set to it as numbers too.
Result<TermVector> consult(std::string_view text, TextPosition* where = nullptr);

// One term, with or without a final '.' (as erl's command line takes values).
Result<Term> parse_term(std::string_view text, TextPosition* where = nullptr);

// "line L, column C: <message>" for logs.
std::string describe(std::error_code ec, const TextPosition& where);

// An Erlang string (proper list of integer code points, or []) as UTF-8, or
// nullopt when `t` is not one. Also accepts a binary (Elixir strings).
std::optional<std::string> string_value(const Term& t);

}  // namespace hc

template <>
struct std::is_error_code_enum<hc::TermTextError> : std::true_type {};
