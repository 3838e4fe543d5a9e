// ctl_format.cpp - human-readable control replies (see ctl_format.hpp). Missing or mistyped
// fields print as "?", never throw: the daemon may be another version.
#include "tools/ctl/ctl_format.hpp"

#include <fmt/format.h>

namespace asmtpd::ctl {

namespace {

using nlohmann::json;

std::string text(const json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end()) return "?";
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_unsigned()) return std::to_string(it->get<std::uint64_t>());
    if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
    if (it->is_boolean()) return it->get<bool>() ? "yes" : "no";
    return it->dump();
}

std::uint64_t number(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

bool flag(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string duration(double s) {
    auto t = static_cast<std::uint64_t>(s < 0 ? 0 : s);
    const auto d = t / 86400, h = t / 3600 % 24, m = t / 60 % 60, sec = t % 60;
    if (d) return fmt::format("{}d {:02}h {:02}m {:02}s", d, h, m, sec);
    if (h) return fmt::format("{}h {:02}m {:02}s", h, m, sec);
    if (m) return fmt::format("{}m {:02}s", m, sec);
    return fmt::format("{}s", sec);
}

// "ok 3, declined 1" from {"ok":3,"declined":1}
std::string counts(const json& j) {
    std::string out;
    if (!j.is_object()) return out;
    for (const auto& [k, v] : j.items()) {
        if (!v.is_number()) continue;
        out += fmt::format("{}{} {}", out.empty() ? "" : ", ", k, v.dump());
    }
    return out.empty() ? "-" : out;
}

std::string status(const json& b) {
    const auto up = b.find("uptime");
    std::string out = fmt::format("asmtpd {}, pid {}, up {}\n", text(b, "version"), text(b, "pid"),
                                  up != b.end() && up->is_number() ? duration(up->get<double>()) : "?");
    out += fmt::format("state: {}\n", flag(b, "draining") ? "draining (accepting no new sessions)" : "running");
    const json reloads = b.value("reloads", json::object());
    out += fmt::format("configuration generation {} (worker reloads: {} ok, {} failed)\n", text(b, "generation"),
                       number(reloads, "ok"), number(reloads, "failed"));
    out += fmt::format("sessions: {}\n", text(b, "sessions"));
    const auto workers = b.find("workers");
    if (workers != b.end() && workers->is_array()) {
        out += fmt::format("workers: {}\n", workers->size());
        for (const auto& w : *workers) {
            if (!w.is_object()) continue;
            const bool alive = number(w, "pid") > 0;
            out += fmt::format("  worker {}  {}  sessions {}\n", text(w, "index"),
                               alive ? "pid " + text(w, "pid") : std::string("not running (restarting)"), text(w, "sessions"));
        }
    }
    return out;
}

std::string plugins(const json& b) {
    const auto list = b.find("plugins");
    if (list == b.end() || !list->is_array() || list->empty()) return "no plugins\n";
    std::size_t width = 6;
    for (const auto& p : *list)
        if (p.is_object()) width = std::max(width, text(p, "name").size());
    std::string out = fmt::format("{:<{}}  {:>8}  {}\n", "PLUGIN", width, "CALLS", "VERDICTS");
    for (const auto& p : *list) {
        if (!p.is_object()) continue;
        out += fmt::format("{:<{}}  {:>8}  {}\n", text(p, "name"), width, text(p, "calls"),
                           counts(p.value("verdicts", json::object())));
    }
    return out;
}

}  // namespace

std::string format_ok(const std::string& command, const json& body) {
    if (command == "status") return status(body);
    if (command == "plugins") return plugins(body);
    if (command == "reload")
        return fmt::format("reloaded: configuration generation {} ({} workers)\n", text(body, "generation"),
                           text(body, "workers"));
    if (command == "drain") {
        if (flag(body, "already")) return "already draining\n";
        return fmt::format("draining: {} sessions open; asmtpd exits once they end (timeouts.shutdown at most)\n",
                           text(body, "sessions"));
    }
    return body.dump(2) + "\n";
}

std::string format_error(const json& body) {
    std::string out = "asmtpd-ctl: " + text(body, "error");
    if (body.contains("generation")) out += fmt::format(" (configuration generation {})", text(body, "generation"));
    out += "\n";
    if (const auto e = body.find("errors"); e != body.end() && e->is_array())
        for (const auto& line : *e)
            if (line.is_string()) out += "  " + line.get<std::string>() + "\n";
    return out;
}

}  // namespace asmtpd::ctl
