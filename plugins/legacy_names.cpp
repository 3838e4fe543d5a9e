// legacy_names.cpp - see legacy_names.hpp.
#include "plugins/legacy_names.hpp"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

namespace asmtpd::plugins {

namespace {

struct Rename {
    std::string_view old_name;
    std::string_view new_name;
};

// Same behaviour under a new name (arguments unchanged).
constexpr Rename kRenames[] = {
    {"auth/auth_flat_file", "auth/flat_file"},
    {"auth/auth_imap", "auth/imap"},
    {"check_spamhelo", "helo"},
    {"require_resolvable_fromhost", "resolvable_fromhost"},
    {"check_loop", "loop"},
    {"check_basicheaders", "headers"},
    {"check_bogus_bounce", "bogus_bounce"},
    {"virus/clamav", "virus/clamdscan"},
};

// qpsmtpd queue plugins that hand mail to another local MTA: what to write instead.
struct Replaced {
    std::string_view old_name;
    std::string_view instead;
};
constexpr Replaced kReplaced[] = {
    {"queue/postfix-queue", "queue/smtp_forward to Postfix's smtpd (e.g. 127.0.0.1:10025), or queue/qmail-queue"},
    {"queue/exim-bsmtp", "queue/smtp_forward to Exim's SMTP port"},
};

bool in_catalog(std::span<const hooks::CatalogEntry> catalog, std::string_view name) {
    return std::any_of(catalog.begin(), catalog.end(),
                       [&](const hooks::CatalogEntry& e) { return e.name != nullptr && name == e.name; });
}

bool relay_family(std::string_view n) { return n == "check_relay" || n == "check_norelay" || n == "relay_only"; }

// The instance name keeps a ":N" suffix the operator gave.
void rename_line(proto::PluginLine& l, std::string_view to) {
    const auto colon = l.instance.find(':');
    l.instance = std::string(to) + (colon == std::string::npos ? "" : l.instance.substr(colon));
    l.name = std::string(to);
}

}  // namespace

void migrate_legacy_names(proto::PluginList& list, std::span<const hooks::CatalogEntry> catalog,
                          const hooks::FlatConfig& config, std::vector<std::string>& notices) {
    std::vector<proto::PluginLine> out;
    bool have_relay = false;   // out[relay_index] is the relay line the relay family folds into
    std::size_t relay_index = 0;
    auto note = [&](const proto::PluginLine& l, const std::string& what) {
        notices.push_back(fmt::format("{}: note: {}", l.where(), what));
    };
    auto error = [&](const proto::PluginLine& l, const std::string& what) {
        list.errors.push_back(fmt::format("{}: {}", l.where(), what));
    };
    for (auto& l : list.plugins) {
        const std::string old = l.name;
        if (old.rfind("logging/", 0) == 0) {
            note(l, fmt::format("'{}' (qpsmtpd) is not loaded: asmtpd logs to stderr; set log_level in asmtpd.yaml", old));
            continue;
        }
        if (relay_family(old) || old == "relay") {
            const bool only = old == "relay_only" || (old == "relay" && !l.args.empty() && l.args.front() == "only");
            if (have_relay) {
                // qpsmtpd's three relay plugins are one plugin here: fold them into the first.
                auto& args = out[relay_index].args;
                if (only && std::find(args.begin(), args.end(), "only") == args.end()) args.push_back("only");
                note(l, fmt::format("'{}' (qpsmtpd) folded into the relay plugin at {}", old, out[relay_index].where()));
                continue;
            }
            if (old != "relay") {
                if (old == "relay_only") l.args.insert(l.args.begin(), "only");
                rename_line(l, "relay");
                note(l, fmt::format("'{}' (qpsmtpd) loaded as 'relay{}'", old, only ? " only" : ""));
            }
            out.push_back(std::move(l));
            relay_index = out.size() - 1;
            have_relay = true;
            continue;
        }
        if (old == "queue/smtp-forward") {
            // qpsmtpd reads the next hop from config/smtpgateway ("host" or "host:port").
            // Debian's debconf writes "queue/smtp-forward HOST PORT".
            if (l.args.size() == 2 && !l.args[1].empty() &&
                l.args[1].find_first_not_of("0123456789") == std::string::npos)
                l.args = {l.args[0] + ":" + l.args[1]};
            if (l.args.empty()) {
                auto gw = config.first("smtpgateway");
                if (!gw) {
                    error(l, "'queue/smtp-forward' (qpsmtpd) needs config/smtpgateway, which is missing; "
                             "write 'queue/smtp_forward HOST[:PORT]' instead");
                    continue;
                }
                l.args.push_back(*gw);
            }
            rename_line(l, "queue/smtp_forward");
            note(l, fmt::format("'queue/smtp-forward' (qpsmtpd) loaded as 'queue/smtp_forward {}'", l.args.front()));
            out.push_back(std::move(l));
            continue;
        }
        if (old == "auth/auth_checkpassword") {
            // qpsmtpd: "checkpw PROGRAM true PROGRAM2"; asmtpd: "PROGRAM PROGRAM2".
            std::vector<std::string> args;
            std::string bad;
            for (std::size_t i = 0; i < l.args.size(); i += 2) {
                if (i + 1 >= l.args.size() || (l.args[i] != "checkpw" && l.args[i] != "true")) {
                    bad = l.args[i];
                    break;
                }
                args.push_back(l.args[i + 1]);
            }
            if (!bad.empty() || args.empty()) {
                error(l, fmt::format("'auth/auth_checkpassword' wants 'checkpw PROGRAM true PROGRAM'{}; "
                                     "or write 'auth/checkpassword PROGRAM [ARG...]'",
                                     bad.empty() ? std::string() : fmt::format(" (unexpected '{}')", bad)));
                continue;
            }
            l.args = std::move(args);
            rename_line(l, "auth/checkpassword");
            note(l, "'auth/auth_checkpassword' (qpsmtpd) loaded as 'auth/checkpassword'");
            out.push_back(std::move(l));
            continue;
        }
        if (auto x = std::find_if(std::begin(kReplaced), std::end(kReplaced),
                                  [&](const Replaced& y) { return y.old_name == old; });
            x != std::end(kReplaced) && !in_catalog(catalog, old)) {
            error(l, fmt::format("'{}' (qpsmtpd) has no asmtpd equivalent; use {}", old, x->instead));
            continue;
        }
        auto r = std::find_if(std::begin(kRenames), std::end(kRenames), [&](const Rename& x) { return x.old_name == old; });
        if (r != std::end(kRenames) && !in_catalog(catalog, old)) {
            if (!in_catalog(catalog, r->new_name)) {
                error(l, fmt::format("'{}' (qpsmtpd) is not available: its successor '{}' is not built into this "
                                     "asmtpd; remove the line or keep the check as an spp program",
                                     old, r->new_name));
                continue;
            }
            rename_line(l, r->new_name);
            note(l, fmt::format("'{}' (qpsmtpd) loaded as '{}'", old, r->new_name));
        }
        out.push_back(std::move(l));
    }
    list.plugins = std::move(out);
}

}  // namespace asmtpd::plugins
