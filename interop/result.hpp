// Result<T>: a value or an error, for operations where failure is an
// expected outcome (malformed input, refused peer...). A small stand-in for
// std::expected<T, hc::Error> (C++23), shared by every layer: the project's
// one value-or-error vocabulary.
//
// The error is a std::error_code (what callers decide on, grouped by
// interop/error_condition.hpp) plus an optional detail text saying which
// part of the input was wrong ("dots: expected a map"), so that no layer
// needs its own error struct to keep that detail:
//
//   Result<Term> r = decode(bytes);
//   if (!r) log(r.message());       // code.message() + ": " + detail
//   else use(*r);                   // or r.value()
//   if (r.error() == hc::errc::protocol_violation) ...  // r.error() is the std::error_code
//
//   return hc::Error(CrdtErrc::malformed_slice, "dots: not a map");
//
// Result<U> passes its error on to a Result<T> with `return r.failure();`.
//
// value()/operator* on an error is a programming error: value() throws
// std::system_error (like std::expected's bad_expected_access), operator*
// does not check.
#pragma once

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace hc {

// An error code and the detail that code alone cannot say (which field, which
// value). The detail is for people (logs, replies); code decides.
struct Error {
  std::error_code code;
  std::string what;  // may be empty

  Error() = default;
  Error(std::error_code c, std::string detail = {}) : code(c), what(std::move(detail)) {}  // NOLINT: implicit by design
  template <class E, std::enable_if_t<std::is_error_code_enum_v<E>, int> = 0>
  Error(E e, std::string detail = {}) : code(make_error_code(e)), what(std::move(detail)) {}  // NOLINT

  // code.message(), then ": " and the detail when there is one.
  std::string message() const { return what.empty() ? code.message() : code.message() + ": " + what; }
};

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T> && !std::is_same_v<std::decay_t<T>, std::error_code>);

 public:
  using value_type = T;

  Result(const T& value) : v_(std::in_place_index<0>, value) {}             // NOLINT: implicit by design
  Result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}       // NOLINT
  Result(std::error_code ec) : v_(std::in_place_index<1>, ec) {}            // NOLINT
  template <class E, std::enable_if_t<std::is_error_code_enum_v<E>, int> = 0>
  Result(E e) : v_(std::in_place_index<1>, make_error_code(e)) {}           // NOLINT
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}             // NOLINT
  template <class... A>
  explicit Result(std::in_place_t, A&&... a) : v_(std::in_place_index<0>, std::forward<A>(a)...) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T&& value() && { check(); return std::get<0>(std::move(v_)); }
  T& operator*() & noexcept { return *std::get_if<0>(&v_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&v_)); }
  T* operator->() noexcept { return std::get_if<0>(&v_); }
  const T* operator->() const noexcept { return std::get_if<0>(&v_); }
  template <class U>
  T value_or(U&& fallback) const& { return ok() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback)); }

  // The error code; a default (success) error_code when ok().
  std::error_code error() const noexcept { return ok() ? std::error_code() : std::get<1>(v_).code; }
  // The detail text of the error; empty when ok() or when there is none.
  const std::string& what() const noexcept { return ok() ? empty() : std::get<1>(v_).what; }
  // Code and detail (an empty Error when ok()), to pass on to another Result.
  Error failure() const { return ok() ? Error() : std::get<1>(v_); }
  // Human-readable error text (code, then detail); empty when ok().
  std::string message() const { return ok() ? std::string() : std::get<1>(v_).message(); }

 private:
  static const std::string& empty() noexcept {
    static const std::string none;
    return none;
  }
  void check() const {
    if (!ok()) throw std::system_error(std::get<1>(v_).code, std::get<1>(v_).what);
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() noexcept = default;
  Result(std::error_code ec) noexcept : e_(ec) {}  // NOLINT
  template <class E, std::enable_if_t<std::is_error_code_enum_v<E>, int> = 0>
  Result(E e) noexcept : e_(make_error_code(e)) {}  // NOLINT
  Result(Error e) noexcept : e_(std::move(e)) {}  // NOLINT

  bool ok() const noexcept { return !e_.code; }
  explicit operator bool() const noexcept { return ok(); }
  void value() const {
    if (e_.code) throw std::system_error(e_.code, e_.what);
  }
  std::error_code error() const noexcept { return e_.code; }
  const std::string& what() const noexcept { return e_.what; }
  Error failure() const { return e_; }
  std::string message() const { return ok() ? std::string() : e_.message(); }

 private:
  Error e_;
};

}  // namespace hc
