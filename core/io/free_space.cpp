// free_space.cpp - see free_space.hpp.
#include "core/io/free_space.hpp"

#include <sys/statvfs.h>

#include <cctype>
#include <charconv>

#include "core/io/work.hpp"

namespace asmtpd::io {

namespace {

std::optional<FsSpace> measure(const std::string& path) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) return std::nullopt;
    FsSpace s;
    s.available = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    s.total = static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize;
    return s;
}

bool below(const FsSpace& s, SpaceThreshold limit, std::uint64_t need) {
    if (need >= s.available) return true;
    const std::uint64_t left = s.available - need;
    if (limit.bytes > 0) return left < limit.bytes;
    return static_cast<double>(left) < static_cast<double>(s.total) * limit.percent / 100.0;
}

}  // namespace

std::optional<SpaceThreshold> parse_space_threshold(std::string_view text) {
    if (text.empty()) return std::nullopt;
    SpaceThreshold t;
    if (text.back() == '%') {
        text.remove_suffix(1);
        double pct = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pct);
        if (ec != std::errc() || end != text.data() + text.size() || pct < 0 || pct >= 100) return std::nullopt;
        t.percent = pct;
        return t;
    }
    std::uint64_t unit = 1;
    switch (std::toupper(static_cast<unsigned char>(text.back()))) {
        case 'K': unit = 1ull << 10; break;
        case 'M': unit = 1ull << 20; break;
        case 'G': unit = 1ull << 30; break;
        case 'T': unit = 1ull << 40; break;
        default: break;
    }
    if (unit != 1) text.remove_suffix(1);
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    if (n > UINT64_MAX / unit) return std::nullopt;
    t.bytes = n * unit;
    return t;
}

FreeSpaceMonitor::FreeSpaceMonitor(uv_loop_t* loop, std::chrono::milliseconds max_age)
    : loop_(loop), max_age_(max_age) {}

FreeSpaceMonitor::~FreeSpaceMonitor() = default;

const FreeSpaceMonitor::Entry& FreeSpaceMonitor::entry(const std::string& path) {
    const std::uint64_t now = uv_now(loop_);
    auto [it, fresh] = entries_.try_emplace(path);
    Entry& e = it->second;
    if (fresh) {
        e.space = measure(path);
        e.measured_ms = now;
        return e;
    }
    if (e.refreshing || now - e.measured_ms < static_cast<std::uint64_t>(max_age_.count())) return e;
    e.refreshing = true;
    auto result = std::make_shared<std::optional<FsSpace>>();
    run_in_pool(
        loop_, [path, result] { *result = measure(path); },
        [this, path, result, alive = std::weak_ptr<int>(alive_)] {
            if (alive.expired()) return;
            auto found = entries_.find(path);
            if (found == entries_.end()) return;
            found->second.space = *result;
            found->second.measured_ms = uv_now(loop_);
            found->second.refreshing = false;
        });
    return e;
}

std::optional<std::string> FreeSpaceMonitor::short_of_space(const std::vector<std::string>& paths,
                                                            SpaceThreshold limit, std::uint64_t need) {
    if (limit.off() && need == 0) return std::nullopt;
    for (const auto& p : paths) {
        const Entry& e = entry(p);
        if (e.space && below(*e.space, limit, need)) return p;
    }
    return std::nullopt;
}

}  // namespace asmtpd::io
