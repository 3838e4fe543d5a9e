// dkim_sign.cpp - DKIM signing: body hash (or one streamed in), the signature field with b=
// empty, the header hash, then b= filled in (RFC 6376 §5).
#include "core/io/dkim_sign.hpp"

#include "core/io/dkim_body_hash.hpp"
#include "core/proto/dkim_header.hpp"
#include "core/proto/sasl.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::io::dkim {

namespace pd = proto::dkim;

namespace {

// base64 folded into lines of at most 72 characters after the first.
std::string folded(std::string_view b64) {
    std::string out;
    for (std::size_t i = 0; i < b64.size(); i += 72) {
        if (i) out += "\r\n ";
        out.append(b64.substr(i, 72));
    }
    return out;
}

bool listed(const std::vector<std::string>& names, std::string_view name) {
    for (const auto& n : names)
        if (proto::iequals(n, name)) return true;
    return false;
}

}  // namespace

SignResult sign_message(std::string_view message, const PrivateKey& key, const SignOptions& o) {
    const auto body_at = message.find("\r\n\r\n");
    const std::string_view block = message.substr(0, body_at == std::string_view::npos ? message.size() : body_at + 2);
    const std::string_view body = body_at == std::string_view::npos ? std::string_view{} : message.substr(body_at + 4);
    BodyHasher body_hasher(o.body_canon, std::nullopt);
    body_hasher.feed(body);
    return sign_header_block(block, body_hasher.finish(), key, o);
}

SignResult sign_header_block(std::string_view block, const BodyDigest& digest, const PrivateKey& key,
                             const SignOptions& o) {
    const Algorithm alg = key.type() == KeyType::Ed25519 ? Algorithm::Ed25519Sha256 : Algorithm::RsaSha256;
    const pd::SplitHeader header = pd::split_header_block(block);
    if (!header.error.empty()) return {std::nullopt, header.error};

    std::vector<std::string> names;
    bool has_from = false;
    for (const auto& wanted : o.headers) {
        std::size_t count = 0;
        for (const auto& f : header.fields) count += proto::iequals(f.name, wanted) ? 1 : 0;
        has_from = has_from || (count > 0 && proto::iequals(wanted, "from"));
        const bool extra = o.oversign || listed(o.oversign_headers, wanted);
        for (std::size_t i = 0; i < count + (extra ? 1 : 0); ++i) names.push_back(proto::to_lower(wanted));
    }
    if (!has_from) return {std::nullopt, "message has no From"};

    std::string field = "DKIM-Signature: v=1; a=" + std::string(pd::to_string(alg)) + "; c=" +
                        std::string(pd::to_string(o.header_canon)) + "/" + std::string(pd::to_string(o.body_canon)) +
                        ";\r\n d=" + o.domain + "; s=" + o.selector + ";";
    if (!o.identity.empty()) field += " i=" + o.identity + ";";
    if (o.timestamp) field += " t=" + std::to_string(*o.timestamp) + ";";
    if (o.expiration) field += " x=" + std::to_string(*o.expiration) + ";";
    if (o.body_length) field += " l=" + std::to_string(digest.canonical_length) + ";";
    field += "\r\n h=";
    for (std::size_t i = 0; i < names.size(); ++i) field += (i ? ":" : "") + names[i];
    field += ";\r\n bh=" + proto::base64_encode(digest.hash) + ";\r\n b=";

    // The field with a placeholder b= parses as the verifier will parse it; b= is emptied
    // again for the header hash.
    const std::string with_placeholder = field + "AA==";
    const pd::SplitHeader own = pd::split_header_block(with_placeholder);
    if (!own.error.empty() || own.fields.size() != 1) return {std::nullopt, "internal: bad signature field"};
    auto parsed = pd::parse_signature(own.fields[0].value());
    if (!parsed.signature) return {std::nullopt, "bad signature field: " + parsed.error};
    auto data = pd::signed_header_data(*parsed.signature, header.fields, own.fields[0]);
    if (!data) return {std::nullopt, "internal: no b= in the field"};
    auto sig = sign_hash(key, alg, sha256(*data));
    if (!sig) return {std::nullopt, "signing failed"};
    field += folded(proto::base64_encode(*sig)) + "\r\n";
    return {std::move(field), {}};
}

}  // namespace asmtpd::io::dkim
