// dmarc_record.cpp - RFC 7489 §6.3 record parsing on top of the DKIM tag list. See
// dmarc_record.hpp for the decisions.
#include "core/proto/dmarc_record.hpp"

#include "core/proto/dkim_tags.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto::dmarc {

namespace {

std::optional<Alignment> alignment_from_string(std::string_view s) {
    if (iequals(s, "r")) return Alignment::Relaxed;
    if (iequals(s, "s")) return Alignment::Strict;
    return std::nullopt;
}

std::optional<std::uint32_t> small_number(std::string_view s, std::uint32_t max) {
    if (s.empty() || s.size() > 10) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        n = n * 10 + std::uint64_t(c - '0');
    }
    if (n > max) return std::nullopt;
    return static_cast<std::uint32_t>(n);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ':' and at least one character.
bool valid_uri(std::string_view u) {
    if (auto bang = u.rfind('!'); bang != std::string_view::npos) {
        std::string_view size = u.substr(bang + 1);
        if (!size.empty() && (size.back() == 'k' || size.back() == 'm' || size.back() == 'g' || size.back() == 't'))
            size.remove_suffix(1);
        if (!small_number(size, 0xffffffffu)) return false;
        u = u.substr(0, bang);
    }
    const std::size_t colon = u.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 >= u.size() || !is_alpha(u[0])) return false;
    for (char c : u.substr(0, colon))
        if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return false;
    for (char c : u.substr(colon + 1))
        if (c == ' ' || c == '\t' || c == ',' || c == ';' || is_ctl(c)) return false;
    return true;
}

}  // namespace

std::string_view to_string(Policy p) {
    switch (p) {
        case Policy::None: return "none";
        case Policy::Quarantine: return "quarantine";
        case Policy::Reject: return "reject";
    }
    return "none";
}

std::optional<Policy> policy_from_string(std::string_view s) {
    if (iequals(s, "none")) return Policy::None;
    if (iequals(s, "quarantine")) return Policy::Quarantine;
    if (iequals(s, "reject")) return Policy::Reject;
    return std::nullopt;
}

bool has_valid_uri(std::string_view list) {
    while (true) {
        const std::size_t comma = list.find(',');
        if (valid_uri(trim(list.substr(0, comma)))) return true;
        if (comma == std::string_view::npos) return false;
        list.remove_prefix(comma + 1);
    }
}

ParsedRecord parse_record(std::string_view txt) {
    ParsedRecord out;
    // Steps 2/4 of §6.6.3 look at the start of the text, before any syntax check.
    std::string_view lead = trim(txt);
    if (lead.substr(0, 2) != "v=") {
        out.error = "not a DMARC record (no leading v=)";
        return out;
    }
    const dkim::TagList list = dkim::parse_tag_list(txt);
    if (!list.ok()) {
        // A malformed list that still reads "v=DMARC1" first is a broken DMARC record.
        std::string_view v = lead.substr(2);
        v = v.substr(0, v.find(';'));
        if (trim(v) != "DMARC1") {
            out.error = "not a DMARC record (v= is not DMARC1)";
            return out;
        }
        out.status = RecordStatus::Invalid;
        out.error = "malformed record: " + list.error;
        return out;
    }
    if (list.tags.empty() || list.tags.front().name != "v" || list.tags.front().value != "DMARC1") {
        out.error = "not a DMARC record (v= is not DMARC1)";
        return out;
    }
    Record r;
    bool bad_policy = false;
    std::string why;
    auto value = [&](std::string_view name) -> const dkim::Tag* { return list.find(name); };
    if (const auto* p = value("p"); !p) {
        bad_policy = true;
        why = "no p= tag";
    } else if (auto pol = policy_from_string(p->value)) {
        r.p = *pol;
    } else {
        bad_policy = true;
        why = "bad p= value";
    }
    for (auto [name, field] : {std::pair{"sp", &r.sp}, std::pair{"np", &r.np}}) {
        const auto* t = value(name);
        if (!t) continue;
        if (auto pol = policy_from_string(t->value)) *field = *pol;
        else {
            bad_policy = true;
            why = std::string("bad ") + name + "= value";
        }
    }
    if (const auto* t = value("rua")) r.rua = std::string(t->value);
    if (const auto* t = value("ruf")) r.ruf = std::string(t->value);
    if (bad_policy) {
        if (!has_valid_uri(r.rua)) {
            out.status = RecordStatus::Invalid;
            out.error = why + " and no valid rua= URI";
            return out;
        }
        // §6.6.3 step 6 A: as if "v=DMARC1; p=none" was retrieved.
        r.p = Policy::None;
        r.sp.reset();
        r.np.reset();
        r.p_from_rua = true;
    }
    if (const auto* t = value("adkim"))
        if (auto a = alignment_from_string(t->value)) r.adkim = *a;
    if (const auto* t = value("aspf"))
        if (auto a = alignment_from_string(t->value)) r.aspf = *a;
    if (const auto* t = value("pct"))
        if (auto n = small_number(t->value, 100)) r.pct = *n;
    if (const auto* t = value("ri"))
        if (auto n = small_number(t->value, 0xffffffffu)) r.ri = *n;
    if (const auto* t = value("fo"); t && !t->value.empty()) r.fo = std::string(t->value);
    out.status = RecordStatus::Valid;
    out.record = std::move(r);
    return out;
}

ParsedRecord select_record(const std::vector<std::string>& txts) {
    ParsedRecord chosen;
    chosen.error = "no DMARC record";
    std::size_t found = 0;
    for (const auto& t : txts) {
        ParsedRecord p = parse_record(t);
        if (p.status == RecordStatus::NotDmarc) continue;
        if (++found == 1) chosen = std::move(p);
    }
    if (found > 1) {
        chosen = ParsedRecord{};
        chosen.status = RecordStatus::Invalid;
        chosen.error = std::to_string(found) + " DMARC records";
    }
    return chosen;
}

}  // namespace asmtpd::proto::dmarc
