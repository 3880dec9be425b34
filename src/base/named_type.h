#pragma once

// Strong typedefs for ids and offsets, so an offset cannot be passed where a term or a
// partition id is expected. Converting between them takes an explicit step.

#include <compare>
#include <cstdint>
#include <functional>

#include <fmt/format.h>

namespace caudal {

/// A value of type T that only compares with values of the same Tag.
template <class T, class Tag>
class named_type {
 public:
  using value_type = T;

  constexpr named_type() = default;
  constexpr explicit named_type(T v) noexcept : _value(v) {}

  /// The underlying value.
  [[nodiscard]] constexpr T operator()() const noexcept { return _value; }

  friend constexpr auto operator<=>(named_type, named_type) = default;

 private:
  T _value{};
};

/// An offset in a partition's log: what Kafka clients see, and (by design, see DESIGN.md)
/// also the Raft log index. Offsets of records; a batch covers a contiguous range.
using kafka_offset = named_type<std::int64_t, struct kafka_offset_tag>;

/// `o + n` records later.
constexpr kafka_offset operator+(kafka_offset o, std::int64_t n) noexcept {
  return kafka_offset(o() + n);
}
/// `o - n` records earlier.
constexpr kafka_offset operator-(kafka_offset o, std::int64_t n) noexcept {
  return kafka_offset(o() - n);
}
/// The number of offsets from `b` to `a`.
constexpr std::int64_t operator-(kafka_offset a, kafka_offset b) noexcept {
  return a() - b();
}

}  // namespace caudal

template <class T, class Tag>
struct fmt::formatter<caudal::named_type<T, Tag>> : fmt::formatter<T> {
  template <class Context>
  auto format(caudal::named_type<T, Tag> v, Context& ctx) const {
    return fmt::formatter<T>::format(v(), ctx);
  }
};

template <class T, class Tag>
struct std::hash<caudal::named_type<T, Tag>> {
  std::size_t operator()(caudal::named_type<T, Tag> v) const noexcept {
    return std::hash<T>{}(v());
  }
};
