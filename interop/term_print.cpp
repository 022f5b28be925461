// Printing terms in Erlang syntax, as io:format("~w") would, with these
// deliberate differences (readability for logs and test failures):
// - binaries whose bytes are printable UTF-8 text print as <<"text">> (as ~p
//   does); other binaries as <<1,2,3>>, bitstrings as <<1,2:3>>;
// - pids, ports and references carry their node instead of the BEAM's local
//   node index: #Pid<node.id.serial.creation>, #Port<node.id.creation>,
//   #Ref<node.creation.wN.....w1> (ID words from the last, as the BEAM prints);
// - local funs print as #Fun<module.arity>, exports as fun m:f/a;
// - atoms are written as UTF-8; characters above U+00FF in a quoted atom are
//   escaped as \x{H} as ~w does.
// Floats print like io_lib_format:fwrite_g/1 (OTP 25): the shortest digits
// that read back to the same double, in plain or exponent notation
// whichever is shorter (and always exponent notation from 2^53 up).
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "interop/utf8.hpp"
#include "interop/term.hpp"

namespace hc {
namespace {

// Decode one UTF-8 code point; returns false on invalid input.
bool next_utf8(std::string_view s, std::size_t& i, char32_t& cp) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    cp = b;
    ++i;
    return true;
  }
  int n = (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
  if (n < 0 || s.size() - i <= static_cast<std::size_t>(n)) return false;
  cp = b & (0x3F >> n);
  for (int k = 1; k <= n; ++k) {
    auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((c & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr char32_t mins[] = {0, 0x80, 0x800, 0x10000};
  if (cp < mins[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  i += static_cast<std::size_t>(n) + 1;
  return true;
}


bool is_lower(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 0xDF && c <= 0xFF && c != 0xF7); }
bool is_name_char(char32_t c) {
  return is_lower(c) || (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= '0' && c <= '9') ||
         c == '_' || c == '@';
}

bool is_reserved(std::string_view s) {
  static constexpr std::string_view words[] = {"after", "and",  "andalso", "band", "begin", "bnot",    "bor",
                                               "bsl",   "bsr",  "bxor",    "case", "catch", "cond",    "div",
                                               "end",   "fun",  "if",      "let",  "not",   "of",      "or",
                                               "orelse", "receive", "rem", "try",  "when",  "xor"};
  for (auto w : words)
    if (w == s) return true;
  return false;
}

bool atom_needs_quotes(std::string_view s) {
  if (s.empty() || is_reserved(s)) return true;
  std::size_t i = 0;
  char32_t cp = 0;
  bool first = true;
  while (i < s.size()) {
    if (!next_utf8(s, i, cp)) return true;
    if (first ? !is_lower(cp) : !is_name_char(cp)) return true;
    first = false;
  }
  return false;
}

// io_lib's string_char for quoted atoms and strings (quote `q`).
void put_quoted_char(std::string& out, char32_t c, char q) {
  if (c == static_cast<char32_t>(q)) {
    out += '\\';
    out += q;
    return;
  }
  switch (c) {
    case '\\': out += "\\\\"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    case '\v': out += "\\v"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case 27: out += "\\e"; return;
    case 127: out += "\\d"; return;
    default: break;
  }
  if ((c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xFF)) {
    put_utf8(out, c);
  } else if (c < 0xA0) {
    out += '\\';
    out += static_cast<char>('0' + (c >> 6));
    out += static_cast<char>('0' + ((c >> 3) & 7));
    out += static_cast<char>('0' + (c & 7));
  } else {
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::uint32_t>(c), 16);
    out += "\\x{";
    for (char* p = buf; p != r.ptr; ++p) out += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
    out += '}';
  }
}

void put_atom(std::string& out, std::string_view s) {
  if (!atom_needs_quotes(s)) {
    out += s;
    return;
  }
  out += '\'';
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    if (!next_utf8(s, i, cp)) {  // not valid UTF-8 (built by hand): write the byte
      cp = static_cast<unsigned char>(s[i++]);
    }
    put_quoted_char(out, cp, '\'');
  }
  out += '\'';
}

void put_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void put_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void put_bigint(std::string& out, const BigInt& b) {
  // Repeated division by 10^9 of the base-256 magnitude.
  std::vector<std::uint8_t> mag(b.magnitude.rbegin(), b.magnitude.rend());  // big-endian
  std::vector<std::uint32_t> chunks;
  while (!mag.empty()) {
    std::uint64_t rem = 0;
    std::vector<std::uint8_t> q;
    q.reserve(mag.size());
    for (auto d : mag) {
      std::uint64_t cur = (rem << 8) | d;
      auto qd = static_cast<std::uint8_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
      if (!q.empty() || qd) q.push_back(qd);
    }
    chunks.push_back(static_cast<std::uint32_t>(rem));
    mag = std::move(q);
  }
  if (b.negative) out += '-';
  if (chunks.empty()) {
    out += '0';
    return;
  }
  put_uint(out, chunks.back());
  for (std::size_t i = chunks.size() - 1; i-- > 0;) {
    char buf[16];
    auto r = std::to_chars(buf, buf + sizeof buf, chunks[i]);
    out.append(9 - static_cast<std::size_t>(r.ptr - buf), '0');
    out.append(buf, r.ptr);
  }
}

void append_float(std::string& out, double d) {
  if (d == 0.0) {
    out += std::signbit(d) ? "-0.0" : "0.0";
    return;
  }
  if (!std::isfinite(d)) {  // not an Erlang value; keep it readable
    out += std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf");
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, std::fabs(d), std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));  // d[.ddd]e[+-]XX, shortest round-trip
  auto epos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, epos))
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int exp10 = 0;
  std::from_chars(sci.data() + epos + (sci[epos + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exp10);
  // io_lib_format:insert_decimal/3 of OTP 25: value = 0.S * 10^Place.
  const int L = static_cast<int>(digits.size());
  const int place = exp10 + 1;
  const std::string exp_l = std::to_string(place - 1);
  auto insert_exp = [&] {
    std::string s(1, digits[0]);
    s += '.';
    s += L == 1 ? std::string("0") : digits.substr(1);
    s += 'e';
    s += exp_l;
    return s;
  };
  std::string body;
  if (place == 0) {
    body = "0." + digits;
  } else if (place < 0 || place >= L) {
    const int exp_dot = L == 1 ? 2 : 1;
    const int exp_cost = static_cast<int>(exp_l.size()) + 1 + exp_dot;
    if (place < 0) {
      body = 2 - place <= exp_cost ? "0." + std::string(static_cast<std::size_t>(-place), '0') + digits : insert_exp();
    } else if (place - L + 2 <= exp_cost && std::fabs(d) < 9007199254740992.0) {
      body = digits + std::string(static_cast<std::size_t>(place - L), '0') + ".0";
    } else {
      body = insert_exp();
    }
  } else {
    body = digits.substr(0, static_cast<std::size_t>(place)) + "." + digits.substr(static_cast<std::size_t>(place));
  }
  if (d < 0) out += '-';
  out += body;
}

bool printable_text(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    if (!next_utf8(s, i, cp)) return false;
    bool ok = (cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp < 0xA0)) || cp == '\n' || cp == '\r' || cp == '\t' ||
              cp == '\v' || cp == '\b' || cp == '\f' || cp == 27;
    if (!ok) return false;
  }
  return true;
}

void put_bits(std::string& out, const Bitstring& b) {
  out += "<<";
  std::string_view text(reinterpret_cast<const char*>(b.bytes.data()), b.bytes.size());
  if (b.is_binary() && printable_text(text)) {
    out += '"';
    std::size_t i = 0;
    while (i < text.size()) {
      char32_t cp = 0;
      next_utf8(text, i, cp);
      if (cp > 0xFF) {
        put_utf8(out, cp);  // ~p prints unicode text as is
      } else {
        put_quoted_char(out, cp, '"');
      }
    }
    out += "\">>";
    return;
  }
  std::size_t full = b.bit_size / 8;
  for (std::size_t i = 0; i < full; ++i) {
    if (i) out += ',';
    put_uint(out, b.bytes[i]);
  }
  if (unsigned rem = b.bit_size % 8; rem != 0) {
    if (full) out += ',';
    put_uint(out, static_cast<unsigned>(b.bytes[full] >> (8 - rem)));
    out += ':';
    put_uint(out, rem);
  }
  out += ">>";
}

// One step of the iterative printer: either a term or literal text.
struct PrintItem {
  const Term* t;
  std::string_view lit;
};

void put_leaf(std::string& out, const Term& t);

// Iterative so that deeply nested terms (the codec accepts 10 000 levels)
// print without deep recursion.
void put_term(std::string& out, const Term& root) {
  std::vector<PrintItem> todo{{&root, {}}};
  while (!todo.empty()) {
    PrintItem it = todo.back();
    todo.pop_back();
    if (!it.t) {
      out += it.lit;
      continue;
    }
    const Term& t = *it.t;
    switch (t.type()) {
      case Term::Type::Tuple: {
        out += '{';
        todo.push_back({nullptr, "}"});
        auto els = t.tuple_elements();
        for (std::size_t i = els.size(); i-- > 0;) {
          todo.push_back({&els[i], {}});
          if (i) todo.push_back({nullptr, ","});
        }
        break;
      }
      case Term::Type::Map: {
        out += "#{";
        todo.push_back({nullptr, "}"});
        auto es = t.map_entries();
        for (std::size_t i = es.size(); i-- > 0;) {
          todo.push_back({&es[i].second, {}});
          todo.push_back({nullptr, " => "});
          todo.push_back({&es[i].first, {}});
          if (i) todo.push_back({nullptr, ","});
        }
        break;
      }
      case Term::Type::List: {
        out += '[';
        todo.push_back({nullptr, "]"});
        if (!t.list_tail().is_nil()) {
          todo.push_back({&t.list_tail(), {}});
          todo.push_back({nullptr, "|"});
        }
        auto els = t.list_elements();
        for (std::size_t i = els.size(); i-- > 0;) {
          todo.push_back({&els[i], {}});
          if (i) todo.push_back({nullptr, ","});
        }
        break;
      }
      default: put_leaf(out, t); break;
    }
  }
}

void put_leaf(std::string& out, const Term& t) {
  switch (t.type()) {
    case Term::Type::Integer: put_int(out, *t.as_int()); return;
    case Term::Type::BigInteger: put_bigint(out, *t.as_bigint()); return;
    case Term::Type::Float: append_float(out, *t.as_float()); return;
    case Term::Type::Atom: put_atom(out, t.as_atom()->text()); return;
    case Term::Type::Reference: {
      const auto& r = *t.as_reference();
      out += "#Ref<";
      put_atom(out, r.node.text());
      out += '.';
      put_uint(out, r.creation);
      for (std::size_t i = r.ids.size(); i-- > 0;) {
        out += '.';
        put_uint(out, r.ids[i]);
      }
      out += '>';
      return;
    }
    case Term::Type::Fun: {
      const auto& f = *t.as_fun();
      if (f.is_export) {
        out += "fun ";
        put_atom(out, f.module.text());
        out += ':';
        put_atom(out, f.function.text());
        out += '/';
        put_uint(out, f.arity);
      } else {
        out += "#Fun<";
        put_atom(out, f.module.text());
        out += '.';
        put_uint(out, f.arity);
        out += '>';
      }
      return;
    }
    case Term::Type::Port: {
      const auto& p = *t.as_port();
      out += "#Port<";
      put_atom(out, p.node.text());
      out += '.';
      put_uint(out, p.id);
      out += '.';
      put_uint(out, p.creation);
      out += '>';
      return;
    }
    case Term::Type::Pid: {
      const auto& p = *t.as_pid();
      out += "#Pid<";
      put_atom(out, p.node.text());
      out += '.';
      put_uint(out, p.id);
      out += '.';
      put_uint(out, p.serial);
      out += '.';
      put_uint(out, p.creation);
      out += '>';
      return;
    }
    case Term::Type::Tuple:
    case Term::Type::Map:
    case Term::Type::List: return;  // handled by put_term
    case Term::Type::Nil: out += "[]"; return;
    case Term::Type::Bitstring: put_bits(out, *t.as_bitstring()); return;
  }
}

}  // namespace

std::string to_string(const Term& t) {
  std::string out;
  put_term(out, t);
  return out;
}

std::ostream& operator<<(std::ostream& os, const Term& t) { return os << to_string(t); }

std::ostream& operator<<(std::ostream& os, const Atom& a) {
  std::string out;
  put_atom(out, a.text());
  return os << out;
}

}  // namespace hc
