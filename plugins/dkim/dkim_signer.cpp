// dkim_signer.cpp - `dkim sign`: sessions, signing domain, the added DKIM-Signature
// (see dkim_signer.hpp).
#include "plugins/dkim/dkim_signer.hpp"

#include <ctime>
#include <memory>

#include "core/proto/dkim_header.hpp"
#include "core/proto/from_domain.hpp"
#include "core/proto/text.hpp"
#include "plugins/dkim/dkim_observer.hpp"
#include "plugins/dkim/sign_observer.hpp"

namespace asmtpd::plugins::dkim {

namespace pd = proto::dkim;

namespace {

bool contains(const std::vector<std::string>& names, std::string_view name) {
    for (const auto& n : names)
        if (proto::iequals(n, name)) return true;
    return false;
}

std::shared_ptr<SignObserver> observer(hooks::Transaction& txn, const std::string& owner) {
    for (const auto& o : txn.body_observers)
        if (auto s = std::dynamic_pointer_cast<SignObserver>(o); s && s->owner() == owner) return s;
    return nullptr;
}

// The From field's domain, when the header has exactly one From with one author.
std::optional<std::string> author_domain(std::string_view block) {
    const pd::SplitHeader header = pd::split_header_block(block);
    if (!header.error.empty()) return std::nullopt;
    const pd::HeaderField* from = nullptr;
    for (const auto& f : header.fields) {
        if (!proto::iequals(f.name, "From")) continue;
        if (from) return std::nullopt;
        from = &f;
    }
    return from ? proto::from_domain(from->value()) : std::nullopt;
}

}  // namespace

std::optional<std::string> parse_header_names(std::string_view text, std::vector<std::string>& names) {
    names.clear();
    std::size_t at = 0;
    while (at <= text.size()) {
        auto end = text.find(':', at);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view name = text.substr(at, end - at);
        at = end + 1;
        if (name.empty()) return "empty header name in '" + std::string(text) + "'";
        for (char c : name)
            if (c < 33 || c > 126) return "header name '" + std::string(name) + "' is not printable ASCII";
        if (!contains(names, name)) names.emplace_back(name);
    }
    return std::nullopt;
}

std::optional<std::string> DkimSigner::init(const proto::ArgPairs& args, const std::string& config_dir) {
    const std::string headers = args.get("headers").value_or(std::string(kDefaultSignedHeaders));
    if (auto e = parse_header_names(headers, options_.headers)) return "headers: " + *e;
    if (!contains(options_.headers, "From")) return "headers must include From (RFC 6376 §5.4)";
    const std::string oversign = args.get("oversign").value_or(std::string(kDefaultOversigned));
    options_.oversign_headers.clear();
    if (oversign != "none") {
        if (auto e = parse_header_names(oversign, options_.oversign_headers)) return "oversign: " + *e;
        for (const auto& n : options_.oversign_headers)
            if (!contains(options_.headers, n)) return "oversign: " + n + " is not among the signed headers";
    }
    options_.header_canon = options_.body_canon = pd::Canon::Relaxed;
    return keys_.load(config_dir + "/dkim");
}

std::string_view DkimSigner::signs_for(hooks::Context& ctx) {
    const auto& c = ctx.connection();
    if (!c.auth_user.empty()) return "authenticated";   // first: AUTH also makes a relay client
    if (c.relay_client) return "relay client";
    return {};
}

void DkimSigner::attach(hooks::Context& ctx, hooks::Transaction& txn, const std::string& owner) const {
    txn.body_observers.push_back(std::make_shared<SignObserver>(owner, options_.body_canon, cpu_poster(ctx)));
}

void DkimSigner::sign(hooks::Context& ctx, const std::string& owner, hooks::HookCall call) const {
    auto* txn = ctx.transaction();
    auto seen = txn ? observer(*txn, owner) : nullptr;
    if (!seen || !seen->ended()) return call.declined();
    const auto block = seen->header_block();
    if (!block) {
        ctx.log().warn("dkim: not signed, header block over {} bytes", kMaxHeaderBytes);
        return call.declined();
    }

    const auto from = author_domain(*block);
    const std::string envelope = txn->sender ? txn->sender->domain_lower() : std::string();
    const SigningKey* key = from ? keys_.find(*from) : nullptr;
    std::string_view chosen_by = "From";
    if (!key && !envelope.empty()) {
        key = keys_.find(envelope);
        chosen_by = "envelope sender";
    }
    if (!key) {
        ctx.log().info("dkim: not signed, no key for the From domain ({}) nor the envelope sender's ({})",
                       from.value_or("none"), envelope.empty() ? "none" : envelope);
        return call.declined();
    }

    io::dkim::SignOptions o = options_;
    o.domain = key->domain;
    o.selector = key->selector;
    o.timestamp = static_cast<std::uint64_t>(std::time(nullptr));
    // An RSA-2048 signature costs about a millisecond: on the loop's CPU thread, not the loop
    // (and not libuv's pool, whose threads never release OpenSSL's per-thread state). The job
    // owns copies of what it reads: a reload may replace this plugin, the session may end.
    const std::string algorithm = key->key.type() == pd::KeyType::Ed25519 ? "ed25519-sha256" : "rsa-sha256";
    const std::string why = std::string(chosen_by) + " domain " + (chosen_by == "From" ? from.value_or("") : envelope) +
                            "; " + std::string(signs_for(ctx));
    auto result = std::make_shared<io::dkim::SignResult>();
    auto* c = &ctx;
    ctx.run_on_cpu_thread(
        [result, block = std::string(*block), seen, k = key->key, o] {
            // After the body hashing jobs (FIFO): body() completes the hash here, off the loop.
            *result = io::dkim::sign_header_block(block, seen->body(), k, o);
        },
        [c, alive = ctx.lifetime(), call, result, o, algorithm, why] {
            if (alive.expired() || !call.wanted()) return;
            auto* t = c->transaction();
            if (!result->field || !t) {
                c->log().warn("dkim: not signed, {} (d={} s={})", t ? result->error : "transaction ended", o.domain,
                              o.selector);
                return call.declined();
            }
            t->added_headers.push_back(std::move(*result->field));
            c->log().info("dkim: signed d={} s={} a={} ({})", o.domain, o.selector, algorithm, why);
            call.declined();
        });
}

}  // namespace asmtpd::plugins::dkim
