// Result<T>: a value or a std::error_code, for operations where failure is an
// expected outcome (malformed input, refused peer...). A small stand-in for
// std::expected<T, std::error_code> (C++23), shared by every layer.
//
//   Result<Term> r = decode(bytes);
//   if (!r) log(r.message());       // r.error() is the std::error_code
//   else use(*r);                   // or r.value()
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

  // The error; a default (success) error_code when ok().
  std::error_code error() const noexcept { return ok() ? std::error_code() : std::get<1>(v_); }
  // Human-readable error text; empty when ok().
  std::string message() const { return ok() ? std::string() : std::get<1>(v_).message(); }

 private:
  void check() const {
    if (!ok()) throw std::system_error(std::get<1>(v_));
  }
  std::variant<T, std::error_code> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() noexcept = default;
  Result(std::error_code ec) noexcept : ec_(ec) {}  // NOLINT
  template <class E, std::enable_if_t<std::is_error_code_enum_v<E>, int> = 0>
  Result(E e) noexcept : ec_(make_error_code(e)) {}  // NOLINT

  bool ok() const noexcept { return !ec_; }
  explicit operator bool() const noexcept { return ok(); }
  void value() const {
    if (ec_) throw std::system_error(ec_);
  }
  std::error_code error() const noexcept { return ec_; }
  std::string message() const { return ok() ? std::string() : ec_.message(); }

 private:
  std::error_code ec_;
};

}  // namespace hc
