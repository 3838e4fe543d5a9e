// prom_text.cpp - Prometheus text exposition (see prom_text.hpp).
#include "core/proto/prom_text.hpp"

#include <cmath>

#include <fmt/format.h>

namespace asmtpd::proto {

std::string prom_escape_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string prom_escape_help(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

namespace {
bool name_ok(std::string_view n, bool colon) {
    if (n.empty()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}
}  // namespace

bool valid_metric_name(std::string_view name) { return name_ok(name, true); }
bool valid_label_name(std::string_view name) { return name_ok(name, false); }

std::string prom_number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) return fmt::format("{}", static_cast<long long>(v));
    return fmt::format("{}", v);
}

void PromText::family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += prom_escape_help(help);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void PromText::labels(std::span<const PromLabel> ls, std::string_view extra_name, std::string_view extra_value) {
    if (ls.empty() && extra_name.empty()) return;
    out_ += '{';
    bool first = true;
    auto one = [&](std::string_view k, std::string_view v) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        out_ += prom_escape_label(v);
        out_ += '"';
    };
    for (const auto& [k, v] : ls) one(k, v);
    if (!extra_name.empty()) one(extra_name, extra_value);
    out_ += '}';
}

void PromText::sample(std::string_view name, std::span<const PromLabel> ls, std::uint64_t value) {
    out_ += name;
    labels(ls);
    out_ += ' ';
    out_ += fmt::format("{}", value);
    out_ += '\n';
}

void PromText::sample(std::string_view name, std::span<const PromLabel> ls, double value) {
    out_ += name;
    labels(ls);
    out_ += ' ';
    out_ += prom_number(value);
    out_ += '\n';
}

void PromText::histogram(std::string_view name, std::span<const PromLabel> ls, std::span<const double> bounds,
                         std::span<const std::uint64_t> counts, std::uint64_t count, double sum) {
    const std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (i < counts.size()) cumulative += counts[i];
        // Observations past the last bound are only in count; a bucket never exceeds it.
        if (cumulative > count) cumulative = count;
        out_ += bucket;
        labels(ls, "le", prom_number(bounds[i]));
        out_ += fmt::format(" {}\n", cumulative);
    }
    out_ += bucket;
    labels(ls, "le", "+Inf");
    out_ += fmt::format(" {}\n", count);
    out_ += name;
    out_ += "_sum";
    labels(ls);
    out_ += ' ';
    out_ += prom_number(sum);
    out_ += '\n';
    out_ += name;
    out_ += "_count";
    labels(ls);
    out_ += fmt::format(" {}\n", count);
}

}  // namespace asmtpd::proto
