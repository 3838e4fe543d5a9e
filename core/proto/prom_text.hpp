// prom_text.hpp - the Prometheus text exposition format, version 0.0.4: "# HELP" and "# TYPE"
// lines, samples with escaped label values, histograms with cumulative buckets.
//
// Rules: a family's HELP and TYPE come once, before its samples (family()); label values are
// escaped (backslash, double quote, line feed); numbers are integers where they can be, so a
// counter never prints in exponent form before it has to. Names are the caller's: they must
// match [a-zA-Z_:][a-zA-Z0-9_:]* (checked in debug terms by valid_metric_name, for tests).
// Pure: builds a string, no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace asmtpd::proto {

using PromLabel = std::pair<std::string_view, std::string_view>;

// The content type of what PromText builds.
inline constexpr std::string_view kPromContentType = "text/plain; version=0.0.4; charset=utf-8";

// A label value as it goes between the quotes: \ -> \\, " -> \", LF -> \n.
std::string prom_escape_label(std::string_view value);
// HELP text: \ -> \\, LF -> \n.
std::string prom_escape_help(std::string_view text);
// [a-zA-Z_:][a-zA-Z0-9_:]*  (label names: the same without ':').
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

class PromText {
public:
    // "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram, untyped).
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, std::span<const PromLabel> labels, std::uint64_t value);
    void sample(std::string_view name, std::span<const PromLabel> labels, double value);
    void sample(std::string_view name, std::uint64_t value) { sample(name, {}, value); }
    // A histogram's samples: name_bucket{...,le="b"} (cumulative), name_bucket{le="+Inf"},
    // name_sum and name_count. counts[i] is the number of observations in (bounds[i-1],
    // bounds[i]] (not cumulative); count is all of them (the +Inf bucket); sum in the unit of
    // the bounds.
    void histogram(std::string_view name, std::span<const PromLabel> labels, std::span<const double> bounds,
                   std::span<const std::uint64_t> counts, std::uint64_t count, double sum);

    const std::string& text() const { return out_; }
    std::string take() { return std::move(out_); }

private:
    void labels(std::span<const PromLabel> labels, std::string_view extra_name = {}, std::string_view extra_value = {});
    std::string out_;
};

// A number as the format wants it: integers without a fraction, others shortest round-trip,
// "+Inf", "-Inf", "NaN".
std::string prom_number(double v);

}  // namespace asmtpd::proto
