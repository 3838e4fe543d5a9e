// dkim_signature.cpp - DKIM-Signature tag list -> Signature (RFC 6376 §3.5, §6.1.1).
#include "core/proto/dkim_signature.hpp"

#include "core/proto/dkim_tags.hpp"
#include "core/proto/sasl.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto::dkim {

namespace {

ParsedSignature fail(std::string why) { return {std::nullopt, std::move(why)}; }

// 1*maxdigits DIGIT (l= allows 76 digits, t= and x= 12; we cap all at what fits 64 bits).
std::optional<std::uint64_t> parse_number(std::string_view s) {
    if (s.empty() || s.size() > 19) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + std::uint64_t(c - '0');
    }
    return v;
}

// sub-domain *("." sub-domain), letters/digits/hyphen (and '_', which real selectors use;
// 8-bit for RFC 8616 U-labels). No empty label, no leading or trailing dot.
bool is_domain(std::string_view s) {
    if (s.empty()) return false;
    std::size_t label = 0;
    for (char c : s) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
        } else if (is_alnum(c) || c == '-' || c == '_' || is_8bit(c)) {
            ++label;
        } else {
            return false;
        }
    }
    return label > 0;
}

// dkim-quoted-printable (§2.11): "=XX" hex escapes; FWS is not part of the value.
std::optional<std::string> decode_dkim_qp(std::string_view value) {
    const std::string text = strip_fws(value);
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '=') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) return std::nullopt;
        auto nibble = [](char c) { return is_digit(c) ? c - '0' : ascii_lower(c) - 'a' + 10; };
        out += static_cast<char>(nibble(text[i + 1]) * 16 + nibble(text[i + 2]));
        i += 2;
    }
    return out;
}

std::optional<Canon> parse_canon(std::string_view s) {
    if (s == "simple") return Canon::Simple;
    if (s == "relaxed") return Canon::Relaxed;
    return std::nullopt;
}

std::optional<std::string> decode_base64(std::string_view value) { return base64_decode(strip_fws(value)); }

// h= : hdr-name *( [FWS] ":" [FWS] hdr-name ); names are field-names (printable, no ':').
std::optional<std::vector<std::string>> parse_header_list(std::string_view value) {
    std::vector<std::string> names;
    const std::string list = strip_fws(value);
    std::size_t start = 0;
    for (;;) {
        const auto colon = list.find(':', start);
        std::string name = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        if (name.empty()) return std::nullopt;
        for (char c : name) {
            if (c <= 0x20 || c >= 0x7f) return std::nullopt;
        }
        names.push_back(std::move(name));
        if (colon == std::string::npos) return names;
        start = colon + 1;
    }
}

}  // namespace

std::string_view to_string(Algorithm a) {
    switch (a) {
        case Algorithm::RsaSha1: return "rsa-sha1";
        case Algorithm::RsaSha256: return "rsa-sha256";
        case Algorithm::Ed25519Sha256: return "ed25519-sha256";
    }
    return "?";
}

std::string_view to_string(Canon c) { return c == Canon::Simple ? "simple" : "relaxed"; }

ParsedSignature parse_signature(std::string_view field_value) {
    const TagList list = parse_tag_list(field_value);
    if (!list.ok()) return fail(list.error);
    for (std::string_view required : {"v", "a", "b", "bh", "d", "h", "s"}) {
        if (!list.find(required)) return fail("missing tag " + std::string(required) + "=");
    }
    Signature sig;
    if (list.find("v")->value != "1") return fail("unsupported version v=" + std::string(list.find("v")->value));

    const std::string_view a = list.find("a")->value;
    if (a == "rsa-sha256") {
        sig.algorithm = Algorithm::RsaSha256;
    } else if (a == "ed25519-sha256") {
        sig.algorithm = Algorithm::Ed25519Sha256;
    } else if (a == "rsa-sha1") {
        sig.algorithm = Algorithm::RsaSha1;
        sig.acceptable = false;
    } else {
        return fail("unknown algorithm a=" + std::string(a));
    }

    if (const Tag* c = list.find("c")) {
        const auto slash = c->value.find('/');
        auto header = parse_canon(c->value.substr(0, slash));
        auto body = slash == std::string_view::npos ? std::optional<Canon>(Canon::Simple)
                                                    : parse_canon(c->value.substr(slash + 1));
        if (!header || !body) return fail("unknown canonicalization c=" + std::string(c->value));
        sig.header_canon = *header;
        sig.body_canon = *body;
    }

    const Tag* b_tag = list.find("b");
    auto b = decode_base64(b_tag->value);
    if (!b || b->empty()) return fail("b= is not base64 or is empty");
    sig.signature = std::move(*b);
    sig.b_from = b_tag->after_equals;
    sig.b_to = std::size_t(b_tag->value.data() - field_value.data()) + b_tag->value.size();
    auto bh = decode_base64(list.find("bh")->value);
    if (!bh || bh->empty()) return fail("bh= is not base64 or is empty");
    sig.body_hash = std::move(*bh);

    sig.domain = std::string(list.find("d")->value);
    if (!is_domain(sig.domain)) return fail("d= is not a domain name");
    sig.selector = std::string(list.find("s")->value);
    if (!is_domain(sig.selector)) return fail("s= is not a selector");

    auto headers = parse_header_list(list.find("h")->value);
    if (!headers) return fail("h= is malformed");
    sig.signed_headers = std::move(*headers);
    bool has_from = false;
    for (const auto& h : sig.signed_headers) has_from = has_from || iequals(h, "from");
    if (!has_from) return fail("h= does not include From");

    if (const Tag* i = list.find("i")) {
        auto identity = decode_dkim_qp(i->value);
        if (!identity) return fail("i= is not dkim-quoted-printable");
        const auto at = identity->rfind('@');
        if (at == std::string::npos) return fail("i= has no '@'");
        sig.identity = std::move(*identity);
        sig.identity_domain = sig.identity.substr(at + 1);
        if (!is_domain(sig.identity_domain)) return fail("i= domain is not a domain name");
        if (!same_or_subdomain(sig.identity_domain, sig.domain)) return fail("i= domain is not within d=");
    } else {
        sig.identity = "@" + sig.domain;
        sig.identity_domain = sig.domain;
    }

    if (const Tag* q = list.find("q")) {
        // q= is a colon-separated list of query methods; we need dns/txt among them.
        bool dns_txt = false;
        const std::string methods = strip_fws(q->value);
        std::size_t start = 0;
        for (;;) {
            const auto colon = methods.find(':', start);
            std::string_view m = std::string_view(methods).substr(start, colon == std::string::npos ? std::string::npos : colon - start);
            dns_txt = dns_txt || iequals(m, "dns/txt") || iequals(m, "dns");
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
        if (!dns_txt) return fail("q= does not offer dns/txt");
    }

    for (auto [name, field] : {std::pair{"l", &sig.body_length}, {"t", &sig.timestamp}, {"x", &sig.expiration}}) {
        if (const Tag* t = list.find(name)) {
            *field = parse_number(t->value);
            if (!*field) return fail(std::string(name) + "= is not a number");
        }
    }
    if (sig.timestamp && sig.expiration && *sig.expiration < *sig.timestamp) return fail("x= is before t=");
    return {std::move(sig), {}};
}

bool signature_expired(const Signature& sig, std::uint64_t now, std::uint64_t skew) {
    return sig.expiration && now > *sig.expiration && now - *sig.expiration > skew;
}

bool signed_in_future(const Signature& sig, std::uint64_t now, std::uint64_t skew) {
    return sig.timestamp && *sig.timestamp > now && *sig.timestamp - now > skew;
}

std::string key_query_name(const Signature& sig) { return sig.selector + "._domainkey." + sig.domain; }

bool same_or_subdomain(std::string_view sub, std::string_view domain) {
    if (sub.size() == domain.size()) return iequals(sub, domain);
    if (sub.size() < domain.size() + 1) return false;
    return sub[sub.size() - domain.size() - 1] == '.' && iequals(sub.substr(sub.size() - domain.size()), domain);
}

}  // namespace asmtpd::proto::dkim
