#include "app/phash2_command.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "interop/codec.hpp"
#include "interop/phash2.hpp"
#include "interop/term.hpp"

namespace hc::app {
namespace {

constexpr std::string_view kUsage =
    "usage: horde-cnode phash2 FILE\n"
    "\n"
    "FILE (or - for standard input) holds term_to_binary([T1, T2, ...]).\n"
    "Prints one line per term, in order:\n"
    "  phash2(T) phash2(T, 4294967296) phash2(T, 4294967295)\n"
    "Exit status: 0 ok, 1 unreadable or malformed FILE, 2 usage error.\n";

bool read_all(std::istream& in, std::vector<std::uint8_t>& bytes) {
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

std::string_view type_name(const Term& t) {
  switch (t.type()) {
    case Term::Type::Integer:
    case Term::Type::BigInteger: return "an integer";
    case Term::Type::Float: return "a float";
    case Term::Type::Atom: return "an atom";
    case Term::Type::Reference: return "a reference";
    case Term::Type::Fun: return "a fun";
    case Term::Type::Port: return "a port";
    case Term::Type::Pid: return "a pid";
    case Term::Type::Tuple: return "a tuple";
    case Term::Type::Map: return "a map";
    case Term::Type::Nil: return "[]";
    case Term::Type::List: return "an improper list";
    case Term::Type::Bitstring: return "a bitstring";
  }
  return "an unknown term";
}

void append_number(std::string& line, std::uint32_t value) {
  char buf[16];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  (void)ec;  // 16 characters always suffice for a 32-bit value
  line.append(buf, end);
}

}  // namespace

int run_phash2_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    out << kUsage;
    return 0;
  }
  if (args.size() != 1 || (args[0].starts_with('-') && args[0] != "-")) {
    if (args.empty()) {
      err << "horde-cnode phash2: missing FILE\n\n";
    } else if (args.size() > 1) {
      err << "horde-cnode phash2: expected one FILE, got " << args.size() << " arguments\n\n";
    } else {
      err << "horde-cnode phash2: unknown option '" << args[0] << "'\n\n";
    }
    err << kUsage;
    return 2;
  }

  const std::string path(args[0]);
  std::vector<std::uint8_t> bytes;
  if (path == "-") {
    if (!read_all(std::cin, bytes)) {
      err << "horde-cnode phash2: cannot read standard input\n";
      return 1;
    }
  } else {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
      err << "horde-cnode phash2: cannot open '" << path << "': " << std::strerror(errno) << '\n';
      return 1;
    }
    if (!read_all(file, bytes)) {
      err << "horde-cnode phash2: cannot read '" << path << "': " << std::strerror(errno) << '\n';
      return 1;
    }
  }

  const Result<Term> decoded = decode(bytes);
  if (!decoded) {
    err << "horde-cnode phash2: '" << path << "' is not a valid external term (term_to_binary output): "
        << decoded.message() << '\n';
    return 1;
  }
  const Term& list = *decoded;
  if (!list.is_proper_list()) {
    err << "horde-cnode phash2: '" << path << "' holds " << type_name(list)
        << ", expected a proper list of terms (term_to_binary([T1, T2, ...]))\n";
    return 1;
  }

  std::string text;
  text.reserve(list.list_elements().size() * 32);
  for (const Term& term : list.list_elements()) {
    const std::uint32_t full = phash2_full(term);
    append_number(text, full & ((std::uint32_t{1} << 27) - 1));  // phash2/1
    text.push_back(' ');
    append_number(text, full);  // range 2^32: the full hash
    text.push_back(' ');
    append_number(text, static_cast<std::uint32_t>(full % 4294967295u));
    text.push_back('\n');
  }
  out << text;
  out.flush();
  if (!out) {
    err << "horde-cnode phash2: cannot write the output\n";
    return 1;
  }
  return 0;
}

}  // namespace hc::app
