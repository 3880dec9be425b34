#pragma once

// The result type for operations that can fail for reasons outside the program's
// control (bad input, I/O, a peer). It holds a value or a std::error_code whose category
// names the module (storage::errc, std::system_category for errno, ...). Kafka error
// codes are not carried here: broker/ maps these errors to them at the edge.

#include "base/assert.h"

#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace caudal {

/// A value of type T or an error. Reading the value of an error (or the error of a
/// value) is a bug and asserts.
template <class T>
class [[nodiscard]] result {
 public:
  using value_type = T;

  result(T value) : _state(std::in_place_index<0>, std::move(value)) {}    // NOLINT: implicit
  result(std::error_code error) : _state(std::in_place_index<1>, error) {  // NOLINT: implicit
    CAUDAL_ASSERT(error, "a result made from an error needs a non-zero error code");
  }
  template <class E>
  requires std::is_error_code_enum_v<E> result(E e)
      : result(std::error_code(make_error_code(e))) {}  // NOLINT: implicit

  [[nodiscard]] bool has_value() const noexcept { return _state.index() == 0; }
  [[nodiscard]] bool has_error() const noexcept { return _state.index() == 1; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & {
    check_value();
    return std::get<0>(_state);
  }
  [[nodiscard]] const T& value() const& {
    check_value();
    return std::get<0>(_state);
  }
  [[nodiscard]] T&& value() && {
    check_value();
    return std::get<0>(std::move(_state));
  }
  [[nodiscard]] std::error_code error() const {
    CAUDAL_ASSERT(has_error(), "error() called on a result that holds a value");
    return std::get<1>(_state);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void check_value() const {
    CAUDAL_ASSERT(has_value(), "value() called on a result holding error {}",
                  std::get<1>(_state).message());
  }

  std::variant<T, std::error_code> _state;
};

/// Success or an error, for operations with no value to return.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(std::error_code error) : _error(error) {  // NOLINT: implicit
    CAUDAL_ASSERT(error, "a result made from an error needs a non-zero error code");
  }
  template <class E>
  requires std::is_error_code_enum_v<E> result(E e)
      : result(std::error_code(make_error_code(e))) {}  // NOLINT: implicit

  [[nodiscard]] bool has_value() const noexcept { return !_error; }
  [[nodiscard]] bool has_error() const noexcept { return static_cast<bool>(_error); }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    CAUDAL_ASSERT(has_value(), "value() called on a result holding error {}", _error.message());
  }
  [[nodiscard]] std::error_code error() const {
    CAUDAL_ASSERT(has_error(), "error() called on a successful result");
    return _error;
  }

 private:
  std::error_code _error;
};

/// The success value for result<void>-returning functions: `return ok();`.
inline result<void> ok() {
  return {};
}

/// The error of the current errno, in the system category.
inline std::error_code errno_error(int err) {
  return {err, std::system_category()};
}

/// Drops a result on purpose. `why` documents the reason and makes the call searchable.
template <class T>
void ignore_error(const result<T>& /*r*/, std::string_view /*why*/) {}

}  // namespace caudal

/// Evaluates `expr` (a result); on error returns the error from the enclosing function.
#define CAUDAL_TRY(expr)                               \
  do {                                                 \
    if (auto caudal_try_r_ = (expr); !caudal_try_r_) { \
      return caudal_try_r_.error();                    \
    }                                                  \
  } while (0)
