// NAME
//   authentication_results - one Authentication-Results header field (RFC 8601) with what the
//   authentication plugins found, and the neutralising of forged ones (qpsmtpd's
//   authentication_results / clean_authentication_results in SMTP.pm, as a plugin).
// SYNOPSIS
//   authentication_results [authserv_id NAME]
//     authserv_id  the id our fields carry and the id a forged field must claim to be renamed;
//                  default asmtpd.yaml's hostname ("me"). An ADMD may share one id across its
//                  MX hosts (RFC 8601 §2.5).
//   List it AFTER sender_permitted_from, dkim and dmarc in config/plugins: it reads their notes
//   at data_post, and a plugin later in the list has not written its note yet.
// HOOKS
//   data_post: adds, right below our Received line,
//     Authentication-Results: <authserv-id>; iprev=...; auth=...; spf=...; dkim=...; dmarc=...
//   each part only when its source left a result, "<authserv-id>; none" when none did; folded
//   at 78 columns. Sources (notes, see plugins/fcrdns.cpp, core/proto/spf_header.hpp,
//   plugins/common/dkim_note.hpp, plugins/common/dmarc_note.hpp):
//     iprev   connection note "iprev" ("pass mx.example.com")  iprev=pass policy.iprev=IP (name)
//     auth    the AUTH user of the session                     auth=pass smtp.auth=USER
//     spf     transaction note "spf"                           spf=RESULT smtp.mailfrom=ADDR
//                                                              (or smtp.helo=NAME for the HELO identity)
//     dkim    transaction note "dkim" ("; "-separated)         dkim=RESULT header.d=... per signature
//     dmarc   transaction note "dmarc"                         dmarc=RESULT (p=... dis=...) header.from=...
//   and asks for every incoming Authentication-Results field that claims our authserv-id
//   (case-insensitive, comments and quotes aside: RFC 8601 §5) to be renamed
//   Original-Authentication-Results (a header edit, applied before queueing). Fields from other
//   authserv-ids are left alone. Unlike qpsmtpd, which renames every field, and keeps all of
//   them when a DKIM signature covers Authentication-Results: ours is the field a forger would
//   fake, and a renamed field breaks only a signature over a field that lies about us.
// Never: refuses anything (DECLINED always); writes a second field for one message.
#include <memory>
#include <string>
#include <vector>

#include "core/proto/auth_results.hpp"
#include "core/proto/header_edit.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/spf_header.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/dkim_note.hpp"
#include "plugins/common/dmarc_note.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::string_view kFieldName = "Authentication-Results";
constexpr std::string_view kRenamedName = "Original-Authentication-Results";

const std::string* note(const hooks::Notes& notes, std::string_view key) {
    auto it = notes.find(key);
    return it == notes.end() || it->second.empty() ? nullptr : &it->second;
}

// RFC 8601 pvalue: an address or domain as it is when it is made of atext, dots and '@';
// anything else as a quoted-string.
std::string pvalue(std::string_view text) {
    constexpr std::string_view kAtext = "!#$%&'*+-/=?^_`{|}~.@";
    bool plain = !text.empty();
    for (char c : text)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              kAtext.find(c) != std::string_view::npos))
            plain = false;
    return plain ? std::string(text) : proto::mime_value(text);
}

// "pass mx.example.com" -> iprev=pass policy.iprev=192.0.2.1 (mx.example.com)
std::optional<std::string> iprev_result(const std::string& note, const std::string& ip) {
    const auto sp = note.find(' ');
    const std::string result = note.substr(0, sp);
    if (result != "pass" && result != "fail" && result != "temperror" && result != "permerror") return std::nullopt;
    std::string out = "iprev=" + result + " policy.iprev=" + pvalue(ip);
    if (sp != std::string::npos) {
        std::string name;
        for (char c : note.substr(sp + 1))   // a comment: no parentheses or backslashes inside
            if (c != '(' && c != ')' && c != '\\' && static_cast<unsigned char>(c) >= 32) name.push_back(c);
        if (!name.empty()) out += " (" + name + ")";
    }
    return out;
}

std::optional<std::string> spf_result(const std::string& text, const hooks::Transaction& txn) {
    auto n = proto::spf::parse_spf_note(text);
    if (!n) return std::nullopt;
    std::string out = "spf=" + std::string(proto::spf::to_string(n->result));
    if (n->identity == proto::spf::Identity::Helo) return out + " smtp.helo=" + pvalue(n->domain);
    if (txn.sender && !txn.sender->is_null() && !txn.sender->domain.empty())
        return out + " smtp.mailfrom=" + pvalue(txn.sender->local + "@" + txn.sender->domain);
    return out + " smtp.mailfrom=" + pvalue(n->domain);
}

class AuthenticationResults final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        id_ = in.server.hostname;
        const auto& a = in.line.args;
        if (a.size() == 2 && a[0] == "authserv_id" && !a[1].empty()) id_ = a[1];
        else if (!a.empty()) return "usage: authentication_results [authserv_id NAME]";
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::DataPost>(&AuthenticationResults::on_data_post);
    }

private:
    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        hooks::Transaction* txn = ctx.transaction();
        if (!txn) return call.declined();
        const auto& conn = ctx.connection();
        std::vector<std::string> results;
        if (const auto* iprev = note(ctx.notes(), "iprev"))
            if (auto r = iprev_result(*iprev, conn.remote_ip)) results.push_back(std::move(*r));
        if (!conn.auth_user.empty()) results.push_back("auth=pass smtp.auth=" + pvalue(conn.auth_user));
        if (const auto* spf = note(txn->notes, "spf"))
            if (auto r = spf_result(*spf, *txn)) results.push_back(std::move(*r));
        if (const auto* dkim = note(txn->notes, kDkimNote)) {
            std::string_view rest = *dkim;
            while (!rest.empty()) {
                auto sep = rest.find("; ");
                results.push_back("dkim=" + std::string(rest.substr(0, sep)));
                rest = sep == std::string_view::npos ? std::string_view() : rest.substr(sep + 2);
            }
        }
        if (const auto* dmarc = note(txn->notes, kDmarcNote)) results.push_back("dmarc=" + *dmarc);

        txn->added_headers.insert(txn->added_headers.begin(), proto::format_authentication_results(id_, results));
        auto rename = proto::HeaderEdit::rename(std::string(kFieldName), 0, std::string(kRenamedName));
        rename.when = [id = id_](std::string_view value) { return proto::claims_authserv_id(value, id); };
        txn->header_edits.push_back(std::move(rename));
        ctx.log().debug("authentication_results: {} results", results.size());
        call.declined();
    }

    std::string id_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_authentication_results() { return std::make_unique<AuthenticationResults>(); }

}  // namespace asmtpd::plugins
