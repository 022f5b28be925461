#include "interop/term_text.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "interop/error_condition.hpp"
#include "interop/utf8.hpp"

namespace hc {
namespace {

class TermTextCategory final : public GroupedCategory {
 public:
  const char* name() const noexcept override { return "hc.term_text"; }
  std::string message(int ev) const override {
    switch (static_cast<TermTextError>(ev)) {
      case TermTextError::unexpected_end: return "unexpected end of text";
      case TermTextError::unexpected_token: return "unexpected character";
      case TermTextError::missing_dot: return "term not followed by '.'";
      case TermTextError::bad_number: return "malformed number";
      case TermTextError::bad_escape: return "bad escape sequence";
      case TermTextError::bad_utf8: return "text is not valid UTF-8";
      case TermTextError::atom_too_long: return "atom longer than 255 characters";
      case TermTextError::variable_not_allowed: return "variables are not terms (a literal term is expected)";
      case TermTextError::bad_binary_element: return "binary element is not a byte or a string";
      case TermTextError::nesting_too_deep: return "terms nested too deeply";
    }
    return "unknown hc.term_text error " + std::to_string(ev);
  }

 protected:
  // Term text is what an operator wrote (configuration files, flag values).
  ConditionGroups groups(int) const noexcept override { return {errc::invalid_input}; }
};

constexpr int kMaxDepth = 10000;


// Multiply-add on a little-endian base-256 magnitude: m = m * base + digit.
void mul_add(std::vector<std::uint8_t>& m, unsigned base, unsigned digit) {
  unsigned carry = digit;
  for (auto& b : m) {
    unsigned v = b * base + carry;
    b = static_cast<std::uint8_t>(v & 0xFF);
    carry = v >> 8;
  }
  while (carry) {
    m.push_back(static_cast<std::uint8_t>(carry & 0xFF));
    carry >>= 8;
  }
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<TermVector> consult() {
    TermVector out;
    for (;;) {
      skip_space();
      if (at_end()) return out;
      auto t = term(0);
      if (!t) return t.error();
      skip_space();
      if (at_end()) return fail(TermTextError::missing_dot);
      if (peek() != '.') return fail(TermTextError::unexpected_token);
      ++i_;
      out.push_back(std::move(*t));
    }
  }

  Result<Term> single() {
    skip_space();
    if (at_end()) return fail(TermTextError::unexpected_end);
    auto t = term(0);
    if (!t) return t;
    skip_space();
    if (!at_end() && peek() == '.') {
      ++i_;
      skip_space();
    }
    if (!at_end()) return fail(TermTextError::unexpected_token);
    return t;
  }

  TextPosition position() const {
    TextPosition p;
    std::size_t upto = std::min(err_at_, s_.size());
    for (std::size_t k = 0; k < upto; ++k) {
      if (s_[k] == '\n') {
        ++p.line;
        p.column = 1;
      } else {
        ++p.column;
      }
    }
    return p;
  }

 private:
  bool at_end() const { return i_ >= s_.size(); }
  char peek(std::size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }

  std::error_code fail(TermTextError e) {
    err_at_ = i_;
    return make_error_code(e);
  }

  void skip_space() {
    while (!at_end()) {
      char c = peek();
      if (c == '%') {
        while (!at_end() && peek() != '\n') ++i_;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++i_;
      } else {
        break;
      }
    }
  }

  bool expect(char c) {
    skip_space();
    if (peek() != c) return false;
    ++i_;
    return true;
  }

  Result<Term> term(int depth) {
    if (depth > kMaxDepth) return fail(TermTextError::nesting_too_deep);
    skip_space();
    if (at_end()) return fail(TermTextError::unexpected_end);
    char c = peek();
    if (c == '{') return tuple(depth);
    if (c == '[') return list(depth);
    if (c == '#' && peek(1) == '{') return map(depth);
    if (c == '<' && peek(1) == '<') return binary();
    if (c == '"') {
      auto s = quoted_strings();
      if (!s) return s.error();
      return string_term(*s);
    }
    if (c == '\'') {
      auto s = quoted('\'');
      if (!s) return s.error();
      return make_atom(*s);
    }
    if (c == '$') return char_literal();
    if (std::isdigit(static_cast<unsigned char>(c))) return number(false);
    if ((c == '-' || c == '+') ) {
      std::size_t save = i_;
      ++i_;
      skip_space();
      if (std::isdigit(static_cast<unsigned char>(peek()))) return number(c == '-');
      if (peek() == '$') {
        auto ch = char_literal();
        if (!ch) return ch;
        return c == '-' ? Term(-*ch->as_int()) : *ch;
      }
      i_ = save;
      return fail(TermTextError::unexpected_token);
    }
    if (std::islower(static_cast<unsigned char>(c))) {
      std::size_t start = i_;
      while (!at_end() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_' || peek() == '@')) ++i_;
      return make_atom(std::string(s_.substr(start, i_ - start)));
    }
    if (std::isupper(static_cast<unsigned char>(c)) || c == '_') return fail(TermTextError::variable_not_allowed);
    return fail(TermTextError::unexpected_token);
  }

  Result<Term> make_atom(const std::string& text) {
    std::size_t chars = 0;
    for (unsigned char ch : text)
      if ((ch & 0xC0) != 0x80) ++chars;
    if (chars > 255) return fail(TermTextError::atom_too_long);
    return Term(Atom(text));
  }

  // Comma-separated terms up to `close`; `allow_tail` for lists.
  Result<Term> tuple(int depth) {
    ++i_;  // {
    TermVector elems;
    skip_space();
    if (peek() == '}') {
      ++i_;
      return Term::tuple({});
    }
    for (;;) {
      auto t = term(depth + 1);
      if (!t) return t;
      elems.push_back(std::move(*t));
      skip_space();
      if (at_end()) return fail(TermTextError::unexpected_end);
      if (peek() == ',') { ++i_; continue; }
      if (peek() == '}') { ++i_; return Term::tuple(std::move(elems)); }
      return fail(TermTextError::unexpected_token);
    }
  }

  Result<Term> list(int depth) {
    ++i_;  // [
    TermVector elems;
    skip_space();
    if (peek() == ']') {
      ++i_;
      return Term::nil();
    }
    for (;;) {
      auto t = term(depth + 1);
      if (!t) return t;
      elems.push_back(std::move(*t));
      skip_space();
      if (at_end()) return fail(TermTextError::unexpected_end);
      if (peek() == ',') { ++i_; continue; }
      if (peek() == ']') { ++i_; return Term::list(std::move(elems)); }
      if (peek() == '|') {
        ++i_;
        auto tail = term(depth + 1);
        if (!tail) return tail;
        if (!expect(']')) return at_end() ? fail(TermTextError::unexpected_end) : fail(TermTextError::unexpected_token);
        return Term::list(std::move(elems), std::move(*tail));
      }
      return fail(TermTextError::unexpected_token);
    }
  }

  Result<Term> map(int depth) {
    i_ += 2;  // #{
    TermPairs pairs;
    skip_space();
    if (peek() == '}') {
      ++i_;
      return Term::map({});
    }
    for (;;) {
      auto k = term(depth + 1);
      if (!k) return k;
      skip_space();
      if (!(peek() == '=' && peek(1) == '>')) return at_end() ? fail(TermTextError::unexpected_end) : fail(TermTextError::unexpected_token);
      i_ += 2;
      auto v = term(depth + 1);
      if (!v) return v;
      pairs.emplace_back(std::move(*k), std::move(*v));
      skip_space();
      if (at_end()) return fail(TermTextError::unexpected_end);
      if (peek() == ',') { ++i_; continue; }
      if (peek() == '}') { ++i_; return Term::map(std::move(pairs)); }
      return fail(TermTextError::unexpected_token);
    }
  }

  Result<Term> binary() {
    i_ += 2;  // <<
    std::string bytes;
    skip_space();
    if (peek() == '>' && peek(1) == '>') {
      i_ += 2;
      return Term::binary(bytes);
    }
    for (;;) {
      skip_space();
      if (at_end()) return fail(TermTextError::unexpected_end);
      if (peek() == '"') {
        auto s = quoted_strings();
        if (!s) return s.error();
        skip_space();
        // `"text"` alone is latin-1 in Erlang; `"text"/utf8` keeps the bytes.
        // Config files hold ASCII, where both agree; non-ASCII text without
        // /utf8 is taken as latin-1 like erl_parse does.
        bool utf8 = false;
        if (peek() == '/') {
          ++i_;
          std::size_t start = i_;
          while (!at_end() && std::isalnum(static_cast<unsigned char>(peek()))) ++i_;
          if (s_.substr(start, i_ - start) != "utf8") return fail(TermTextError::bad_binary_element);
          utf8 = true;
        }
        if (utf8) {
          bytes += *s;
        } else {
          auto cps = code_points(*s);
          for (char32_t cp : cps) {
            if (cp > 255) return fail(TermTextError::bad_binary_element);
            bytes += static_cast<char>(cp);
          }
        }
      } else {
        const std::size_t start = i_;
        auto t = term(1);
        if (!t) return t;
        auto v = t->as_int();
        if (!v || *v < 0 || *v > 255) {
          i_ = start;  // report the element, not what follows it
          return fail(TermTextError::bad_binary_element);
        }
        bytes += static_cast<char>(*v);
      }
      skip_space();
      if (peek() == ',') { ++i_; continue; }
      if (peek() == '>' && peek(1) == '>') {
        i_ += 2;
        return Term::binary(bytes);
      }
      return at_end() ? fail(TermTextError::unexpected_end) : fail(TermTextError::bad_binary_element);
    }
  }

  static std::vector<char32_t> code_points(const std::string& utf8) {
    std::vector<char32_t> out;
    for (std::size_t k = 0; k < utf8.size();) {
      unsigned char c = static_cast<unsigned char>(utf8[k]);
      int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
      for (int j = 1; j < n && k + j < utf8.size(); ++j) cp = (cp << 6) | (utf8[k + j] & 0x3F);
      out.push_back(cp);
      k += n;
    }
    return out;
  }

  static Term string_term(const std::string& utf8) {
    TermVector elems;
    for (char32_t cp : code_points(utf8)) elems.emplace_back(static_cast<std::int64_t>(cp));
    return Term::list(std::move(elems));
  }

  // One or more adjacent "..." strings, concatenated (as the Erlang scanner does).
  Result<std::string> quoted_strings() {
    std::string all;
    for (;;) {
      auto s = quoted('"');
      if (!s) return s;
      all += *s;
      std::size_t save = i_;
      skip_space();
      if (peek() != '"') {
        i_ = save;
        return all;
      }
    }
  }

  // Validates one UTF-8 sequence at i_ and appends it to `out`.
  std::error_code take_utf8(std::string& out) {
    unsigned char c = static_cast<unsigned char>(peek());
    int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0) return fail(TermTextError::bad_utf8);
    if (i_ + n > s_.size()) return fail(TermTextError::bad_utf8);
    for (int j = 1; j < n; ++j)
      if ((static_cast<unsigned char>(s_[i_ + j]) & 0xC0) != 0x80) return fail(TermTextError::bad_utf8);
    out.append(s_.substr(i_, n));
    i_ += n;
    return {};
  }

  // An escape after the backslash; returns the code point.
  Result<char32_t> escape() {
    if (at_end()) return fail(TermTextError::unexpected_end);
    char c = peek();
    ++i_;
    switch (c) {
      case 'b': return char32_t{8};
      case 'd': return char32_t{127};
      case 'e': return char32_t{27};
      case 'f': return char32_t{12};
      case 'n': return char32_t{10};
      case 'r': return char32_t{13};
      case 's': return char32_t{32};
      case 't': return char32_t{9};
      case 'v': return char32_t{11};
      case '^': {
        if (at_end()) return fail(TermTextError::bad_escape);
        char k = peek();
        ++i_;
        return static_cast<char32_t>(k & 0x1F);
      }
      case 'x': {
        std::string digits;
        if (peek() == '{') {
          ++i_;
          while (!at_end() && std::isxdigit(static_cast<unsigned char>(peek()))) digits += s_[i_++];
          if (peek() != '}' || digits.empty() || digits.size() > 6) return fail(TermTextError::bad_escape);
          ++i_;
        } else {
          for (int k = 0; k < 2; ++k) {
            if (!std::isxdigit(static_cast<unsigned char>(peek()))) return fail(TermTextError::bad_escape);
            digits += s_[i_++];
          }
        }
        auto v = std::strtoul(digits.c_str(), nullptr, 16);
        if (v > 0x10FFFF) return fail(TermTextError::bad_escape);
        return static_cast<char32_t>(v);
      }
      default:
        if (c >= '0' && c <= '7') {
          unsigned v = static_cast<unsigned>(c - '0');
          for (int k = 0; k < 2 && peek() >= '0' && peek() <= '7'; ++k) v = v * 8 + static_cast<unsigned>(s_[i_++] - '0');
          return static_cast<char32_t>(v);
        }
        // \\ \' \" and any other printable character stand for themselves.
        if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F) return static_cast<char32_t>(c);
        --i_;
        return fail(TermTextError::bad_escape);
    }
  }

  // Text between `q` quotes, escapes resolved, as UTF-8.
  Result<std::string> quoted(char q) {
    ++i_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) return fail(TermTextError::unexpected_end);
      char c = peek();
      if (c == q) {
        ++i_;
        return out;
      }
      if (c == '\\') {
        ++i_;
        auto cp = escape();
        if (!cp) return cp.error();
        put_utf8(out, *cp);
        continue;
      }
      if (auto ec = take_utf8(out)) return ec;
    }
  }

  Result<Term> char_literal() {
    ++i_;  // $
    if (at_end()) return fail(TermTextError::unexpected_end);
    if (peek() == '\\') {
      ++i_;
      auto cp = escape();
      if (!cp) return cp.error();
      return Term(static_cast<std::int64_t>(*cp));
    }
    std::string one;
    if (auto ec = take_utf8(one)) return ec;
    return Term(static_cast<std::int64_t>(code_points(one).front()));
  }

  static int digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
  }

  // Digits (with single '_' separators between digits) of `base`.
  std::optional<std::string> digits(int base) {
    std::string out;
    while (!at_end()) {
      char c = peek();
      if (digit_value(c) < base) {
        out += c;
        ++i_;
      } else if (c == '_' && !out.empty() && digit_value(peek(1)) < base) {
        ++i_;
      } else {
        break;
      }
    }
    if (out.empty()) return std::nullopt;
    return out;
  }

  static Term integer_of(const std::string& ds, int base, bool negative) {
    std::vector<std::uint8_t> mag;
    for (char c : ds) mul_add(mag, static_cast<unsigned>(base), static_cast<unsigned>(digit_value(c)));
    while (!mag.empty() && mag.back() == 0) mag.pop_back();
    return Term(BigInt{negative, std::move(mag)});
  }

  Result<Term> number(bool negative) {
    auto ds = digits(10);
    if (!ds) return fail(TermTextError::bad_number);
    if (peek() == '#') {
      long base = std::strtol(ds->c_str(), nullptr, 10);
      if (base < 2 || base > 36) return fail(TermTextError::bad_number);
      ++i_;
      auto bd = digits(static_cast<int>(base));
      if (!bd || std::isalnum(static_cast<unsigned char>(peek()))) return fail(TermTextError::bad_number);
      return integer_of(*bd, static_cast<int>(base), negative);
    }
    if (peek() == '.' && std::isdigit(static_cast<unsigned char>(peek(1)))) {
      ++i_;
      auto frac = digits(10);
      std::string text = (negative ? "-" : "") + *ds + "." + *frac;
      if (peek() == 'e' || peek() == 'E') {
        std::size_t save = i_;
        ++i_;
        std::string sign;
        if (peek() == '+' || peek() == '-') sign = s_[i_++];
        auto ex = digits(10);
        if (!ex) {
          i_ = save;
          return fail(TermTextError::bad_number);
        }
        text += "e" + sign + *ex;
      }
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (end != text.c_str() + text.size() || !std::isfinite(v)) return fail(TermTextError::bad_number);
      return Term(v);
    }
    if (std::isalpha(static_cast<unsigned char>(peek())) || peek() == '_') return fail(TermTextError::bad_number);
    return integer_of(*ds, 10, negative);
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::size_t err_at_ = 0;
};

}  // namespace

const std::error_category& term_text_category() noexcept {
  static const TermTextCategory category;
  return category;
}

std::error_code make_error_code(TermTextError e) noexcept { return {static_cast<int>(e), term_text_category()}; }

namespace {
// The error with its position as detail ("line 2, column 7").
Error positioned(std::error_code ec, const TextPosition& at) {
  return Error(ec, "line " + std::to_string(at.line) + ", column " + std::to_string(at.column));
}
}  // namespace

Result<TermVector> consult(std::string_view text, TextPosition* where) {
  Parser p(text);
  auto r = p.consult();
  if (r) return r;
  if (where) *where = p.position();
  return positioned(r.error(), p.position());
}

Result<Term> parse_term(std::string_view text, TextPosition* where) {
  Parser p(text);
  auto r = p.single();
  if (r) return r;
  if (where) *where = p.position();
  return positioned(r.error(), p.position());
}

std::string describe(std::error_code ec, const TextPosition& where) {
  return "line " + std::to_string(where.line) + ", column " + std::to_string(where.column) + ": " + ec.message();
}

std::optional<std::string> string_value(const Term& t) {
  if (auto b = t.as_binary()) return std::string(*b);
  if (t.is_nil()) return std::string();
  if (!t.is_proper_list()) return std::nullopt;
  std::string out;
  for (const auto& e : t.list_elements()) {
    auto v = e.as_int();
    if (!v || *v < 0 || *v > 0x10FFFF) return std::nullopt;
    put_utf8(out, static_cast<char32_t>(*v));
  }
  return out;
}

}  // namespace hc
