// expected.hpp - value-or-Reply result type for pure parsers (C++20 has no std::expected).
//
// Parsers never throw and never log: they return the parsed value or the exact SMTP reply the
// client should get for its mistake.
#pragma once

#include <utility>
#include <variant>

#include "core/proto/reply.hpp"

namespace asmtpd::proto {

template <class T>
class Expected {
public:
    Expected(T value) : v_(std::move(value)) {}          // NOLINT: implicit on purpose
    Expected(Reply error) : v_(std::move(error)) {}      // NOLINT: implicit on purpose

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Reply& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Reply> v_;
};

}  // namespace asmtpd::proto
