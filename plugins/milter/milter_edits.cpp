// milter_edits.cpp - end-of-message modifications (see milter_edits.hpp).
#include "plugins/milter/milter_edits.hpp"

#include <algorithm>
#include <limits>

#include "core/proto/address.hpp"
#include "core/proto/header_block.hpp"
#include "core/proto/reply.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::plugins::milter {

namespace pm = proto::milter;

namespace {

// Name of an "Name: value" line (added_headers).
std::string_view field_name(std::string_view line) {
    auto colon = line.find(':');
    return colon == std::string_view::npos ? std::string_view{} : line.substr(0, colon);
}

std::string value_of(const pm::Reply& r, const EditPolicy& p) {
    std::string v = r.value;
    // With HDR_LEADSPC the filter gives the value with its leading space; our edits add one.
    if (p.leading_space && !v.empty() && (v[0] == ' ' || v[0] == '\t')) v.erase(0, 1);
    return v;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<proto::Address> address_of(std::string text, bool recipient) {
    text = std::string(trim(text));
    if (text.empty() || text.front() != '<') text = "<" + text + ">";
    auto rules = recipient ? proto::recipient_rules(true) : proto::sender_rules(true);
    auto a = proto::parse_path(text, rules);
    if (!a) return std::nullopt;
    return *a;
}

std::vector<proto::EsmtpParam> params_of(std::string_view args) {
    std::vector<proto::EsmtpParam> out;
    while (!args.empty()) {
        args = trim(args);
        auto sp = args.find_first_of(" \t");
        std::string_view w = args.substr(0, sp);
        args = sp == std::string_view::npos ? std::string_view{} : args.substr(sp);
        if (w.empty()) break;
        proto::EsmtpParam p;
        auto eq = w.find('=');
        p.keyword = proto::to_upper(w.substr(0, eq));
        if (eq != std::string_view::npos) p.value = std::string(w.substr(eq + 1));
        out.push_back(std::move(p));
    }
    return out;
}

struct Prefix {
    // Fields the milter saw before the client's block: Received (not editable), added_headers.
    std::size_t received = 0;
    std::size_t count(const hooks::Transaction& t) const { return received + t.added_headers.size(); }
};

void change_header(hooks::Transaction& t, const Prefix& pre, const pm::Reply& r, const std::string& value,
                   const io::Log& log) {
    std::size_t index = r.index == 0 ? 1 : r.index;
    std::size_t seen = 0;
    if (pre.received && proto::iequals(r.name, "Received")) {
        if (++seen == index) {
            log.info("milter: chgheader Received 1 (our own Received field) ignored");
            return;
        }
    }
    for (auto it = t.added_headers.begin(); it != t.added_headers.end(); ++it) {
        if (!proto::iequals(field_name(*it), r.name)) continue;
        if (++seen != index) continue;
        if (value.empty()) t.added_headers.erase(it);
        else *it = r.name + ": " + value;
        return;
    }
    const std::size_t occurrence = index - seen;
    if (value.empty()) t.header_edits.push_back(proto::HeaderEdit::remove(r.name, occurrence));
    else t.header_edits.push_back(proto::HeaderEdit::change(r.name, occurrence, value));
}

void insert_header(hooks::Transaction& t, const Prefix& pre, const pm::Reply& r, const std::string& value) {
    const std::size_t p = pre.count(t);
    if (r.index < p) {
        const std::size_t at = r.index < pre.received ? 0 : r.index - pre.received;
        t.added_headers.insert(t.added_headers.begin() + static_cast<std::ptrdiff_t>(std::min(at, t.added_headers.size())),
                               r.name + ": " + value);
        return;
    }
    t.header_edits.push_back(proto::HeaderEdit::insert(r.index - p, r.name, value));
}

bool permitted(const pm::Reply& r, std::uint32_t actions) {
    switch (r.kind) {
        case pm::ReplyKind::AddHeader: return actions & pm::kAddHeaders;
        case pm::ReplyKind::ChangeHeader: return actions & pm::kChangeHeaders;
        case pm::ReplyKind::InsertHeader: return actions & (pm::kAddHeaders | pm::kChangeHeaders);
        case pm::ReplyKind::AddRcpt: return actions & pm::kAddRcpt;
        case pm::ReplyKind::AddRcptPar: return actions & pm::kAddRcptPar;
        case pm::ReplyKind::DeleteRcpt: return actions & pm::kDeleteRcpt;
        case pm::ReplyKind::ChangeFrom: return actions & pm::kChangeFrom;
        case pm::ReplyKind::Quarantine: return actions & pm::kQuarantine;
        case pm::ReplyKind::ReplaceBody: return actions & pm::kChangeBody;
        default: return false;
    }
}

}  // namespace

std::size_t apply_changes(hooks::Transaction& t, const std::vector<pm::Reply>& changes, const EditPolicy& policy,
                          const io::Log& log) {
    Prefix pre;
    pre.received = t.received.empty() ? 0 : 1;
    std::size_t applied = 0;
    for (const auto& r : changes) {
        if (!permitted(r, policy.actions)) {
            log.warn("milter: {} {}: {} was not negotiated; ignored", policy.milter, pm::reply_name(r.kind),
                     pm::reply_name(r.kind));
            continue;
        }
        switch (r.kind) {
            case pm::ReplyKind::AddHeader:
                if (!proto::valid_field_name(r.name)) break;
                t.header_edits.push_back(proto::HeaderEdit::insert(std::numeric_limits<std::size_t>::max(), r.name,
                                                                   value_of(r, policy)));
                ++applied;
                break;
            case pm::ReplyKind::ChangeHeader:
                if (!proto::valid_field_name(r.name)) break;
                change_header(t, pre, r, value_of(r, policy), log);
                ++applied;
                break;
            case pm::ReplyKind::InsertHeader:
                if (!proto::valid_field_name(r.name)) break;
                insert_header(t, pre, r, value_of(r, policy));
                ++applied;
                break;
            case pm::ReplyKind::AddRcpt:
            case pm::ReplyKind::AddRcptPar: {
                auto a = address_of(r.name, true);
                if (!a) {
                    log.warn("milter: {} addrcpt '{}': not an address; ignored", policy.milter, r.name);
                    break;
                }
                bool have = std::any_of(t.recipients.begin(), t.recipients.end(),
                                        [&](const proto::Address& x) { return proto::iequals(x.bare(), a->bare()); });
                if (!have) t.recipients.push_back(*a);
                log.info("milter: {} addrcpt {}", policy.milter, a->format());
                ++applied;
                break;
            }
            case pm::ReplyKind::DeleteRcpt: {
                auto a = address_of(r.name, true);
                if (!a) break;
                auto before = t.recipients.size();
                std::erase_if(t.recipients, [&](const proto::Address& x) { return proto::iequals(x.bare(), a->bare()); });
                log.info("milter: {} delrcpt {}{}", policy.milter, a->format(),
                         before == t.recipients.size() ? " (not a recipient)" : "");
                ++applied;
                break;
            }
            case pm::ReplyKind::ChangeFrom: {
                auto a = address_of(r.name, false);
                if (!a) {
                    log.warn("milter: {} chgfrom '{}': not an address; ignored", policy.milter, r.name);
                    break;
                }
                log.info("milter: {} chgfrom {} -> {}", policy.milter, t.sender ? t.sender->format() : "none",
                         a->format());
                t.sender = *a;
                t.mail_params = params_of(r.value);
                ++applied;
                break;
            }
            case pm::ReplyKind::Quarantine: {
                std::string reason = proto::sanitize_reply_text(r.value);
                t.notes["quarantine"] = reason;
                t.added_headers.push_back("X-Quarantine: " + policy.milter + ": " + reason);
                log.notice("milter: {} quarantine: {}", policy.milter, reason);
                ++applied;
                break;
            }
            default: break;
        }
    }
    return applied;
}

}  // namespace asmtpd::plugins::milter
