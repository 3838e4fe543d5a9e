// dkim_key.cpp - DKIM key record TXT -> KeyRecord (RFC 6376 §3.6.1).
#include "core/proto/dkim_key.hpp"

#include "core/proto/dkim_tags.hpp"
#include "core/proto/sasl.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto::dkim {

namespace {

ParsedKey fail(std::string why) { return {std::nullopt, std::move(why)}; }

// A colon-separated list with FWS anywhere, e.g. "sha1:sha256" or "y : s".
std::vector<std::string> colon_list(std::string_view value) {
    std::vector<std::string> items;
    const std::string list = strip_fws(value);
    std::size_t start = 0;
    for (;;) {
        const auto colon = list.find(':', start);
        items.push_back(list.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
        if (colon == std::string::npos) return items;
        start = colon + 1;
    }
}

}  // namespace

ParsedKey parse_key_record(std::string_view txt) {
    const TagList list = parse_tag_list(txt);
    if (!list.ok()) return fail("key record: " + list.error);
    if (const Tag* v = list.find("v")) {
        if (&list.tags.front() != v) return fail("key record: v= is not the first tag");
        if (v->value != "DKIM1") return fail("key record: v= is not DKIM1");
    }
    KeyRecord key;
    if (const Tag* k = list.find("k")) {
        if (k->value == "rsa") {
            key.type = KeyType::Rsa;
        } else if (k->value == "ed25519") {
            key.type = KeyType::Ed25519;
        } else {
            return fail("key record: unknown key type k=" + std::string(k->value));
        }
    }
    const Tag* p = list.find("p");
    if (!p) return fail("key record: no p=");
    auto decoded = base64_decode(strip_fws(p->value));
    if (!decoded) return fail("key record: p= is not base64");
    key.public_key = std::move(*decoded);
    key.revoked = key.public_key.empty();
    if (const Tag* h = list.find("h")) key.hashes = colon_list(h->value);
    if (const Tag* s = list.find("s")) {
        bool email = false;
        for (const auto& service : colon_list(s->value)) email = email || service == "*" || service == "email";
        if (!email) return fail("key record: s= does not allow email");
    }
    if (const Tag* t = list.find("t")) {
        for (const auto& flag : colon_list(t->value)) {
            key.testing = key.testing || flag == "y";
            key.strict_identity = key.strict_identity || flag == "s";
        }
    }
    return {std::move(key), {}};
}

std::string key_refusal(const KeyRecord& key, const Signature& sig) {
    if (key.revoked) return "key revoked";
    const bool ed = sig.algorithm == Algorithm::Ed25519Sha256;
    if ((key.type == KeyType::Ed25519) != ed) return "key type does not match a=";
    if (!key.hashes.empty()) {
        const std::string_view wanted = sig.algorithm == Algorithm::RsaSha1 ? "sha1" : "sha256";
        bool listed = false;
        for (const auto& h : key.hashes) listed = listed || h == wanted;
        if (!listed) return "key h= excludes " + std::string(wanted);
    }
    if (key.strict_identity && !iequals(sig.identity_domain, sig.domain)) return "t=s and i= is a subdomain of d=";
    return {};
}

}  // namespace asmtpd::proto::dkim
