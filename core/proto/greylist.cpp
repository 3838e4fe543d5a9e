// greylist.cpp - greylisting records and decisions; see greylist.hpp.
#include "core/proto/greylist.hpp"

#include <charconv>

#include "core/proto/cidr.hpp"

namespace asmtpd::proto {

namespace {

// One decimal field up to ':' or the end; advances text past it (and its ':').
bool take_number(std::string_view& text, std::uint64_t& out, bool last) {
    const auto end = last ? text.size() : text.find(':');
    if (end == std::string_view::npos || end == 0 || end > 20) return false;
    for (std::size_t i = 0; i < end; ++i)
        if (text[i] < '0' || text[i] > '9') return false;
    auto [p, ec] = std::from_chars(text.data(), text.data() + end, out);
    if (ec != std::errc() || p != text.data() + end) return false;
    text.remove_prefix(last ? end : end + 1);
    return true;
}

}  // namespace

std::optional<GreylistRecord> parse_greylist_record(std::string_view text) {
    GreylistRecord r;
    if (!take_number(text, r.ts, false) || !take_number(text, r.new_count, false) ||
        !take_number(text, r.black, false) || !take_number(text, r.white, true) || !text.empty())
        return std::nullopt;
    return r;
}

std::string format_greylist_record(const GreylistRecord& r) {
    return std::to_string(r.ts) + ":" + std::to_string(r.new_count) + ":" + std::to_string(r.black) + ":" +
           std::to_string(r.white);
}

GreylistDecision greylist_decide(const std::optional<GreylistRecord>& current, std::uint64_t now,
                                 const GreylistTimeouts& t) {
    GreylistDecision d;
    if (current) {
        const GreylistRecord& c = *current;
        if (c.white) {
            if (c.ts + t.white >= now) {
                d.pass = true;
                d.state = "white";
                d.next = {now, c.new_count, c.black, c.white + 1};
                d.ttl = t.white;
                return d;
            }
        } else if (c.ts + t.black > now) {
            d.state = "black";
            d.next = {c.ts, c.new_count, c.black + 1, 0};
            d.ttl = c.ts + t.grey > now ? c.ts + t.grey - now : 1;
            return d;
        } else if (c.ts + t.grey > now) {
            d.pass = true;
            d.state = "grey";
            d.next = {now, c.new_count, c.black, 1};
            d.ttl = t.white;
            return d;
        }
    }
    d.state = "new";
    d.next = {now, (current ? current->new_count : 0) + 1, current ? current->black : 0, 0};
    d.ttl = t.grey;
    return d;
}

std::string greylist_network(std::string_view ip, unsigned v4_prefix, unsigned v6_prefix) {
    auto a = parse_ip(ip);
    if (!a) return {};
    const bool v4 = a->is_v4();
    auto net = parse_cidr(a->to_string() + "/" + std::to_string(v4 ? v4_prefix : v6_prefix));
    return net ? net->to_string() : std::string();
}

}  // namespace asmtpd::proto
