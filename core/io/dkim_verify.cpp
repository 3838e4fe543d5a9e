// dkim_verify.cpp - one signature's verdict (RFC 6376 §6.1.2, §6.1.3) and the in-memory
// whole-message verifier.
#include "core/io/dkim_verify.hpp"

#include "core/io/crypto.hpp"
#include "core/io/dkim_crypto.hpp"
#include "core/proto/dkim_header.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::io::dkim {

namespace pd = proto::dkim;

namespace {
SignatureResult result(Verdict v, std::string reason, const pd::Signature& sig) { return {v, std::move(reason), sig, false}; }
}  // namespace

std::string_view to_string(Verdict v) {
    switch (v) {
        case Verdict::Pass: return "pass";
        case Verdict::Fail: return "fail";
        case Verdict::TempError: return "temperror";
        case Verdict::PermError: return "permerror";
    }
    return "?";
}

SignatureResult judge_signature(const pd::Signature& sig, std::string_view header_data, const BodyDigest& body,
                                const KeyAnswer& answer, std::uint64_t now, KeyCache* keys) {
    if (!sig.acceptable) return result(Verdict::PermError, "algorithm " + std::string(to_string(sig.algorithm)) + " is not accepted", sig);
    if (pd::signature_expired(sig, now, kClockSkew)) return result(Verdict::Fail, "signature expired", sig);
    if (pd::signed_in_future(sig, now, kClockSkew)) return result(Verdict::Fail, "signature timestamp in the future", sig);
    if (answer.status == KeyAnswer::Status::TempFail) return result(Verdict::TempError, "key lookup failed", sig);
    if (answer.status == KeyAnswer::Status::NotFound) return result(Verdict::PermError, "no key for signature", sig);
    const auto decoded = keys ? keys->get(answer.txt) : decode_key(answer.txt);
    const pd::ParsedKey& record = decoded->record;
    if (!record.key) return result(Verdict::PermError, record.error, sig);
    if (auto refusal = pd::key_refusal(*record.key, sig); !refusal.empty()) return result(Verdict::PermError, refusal, sig);
    const LoadedPublicKey& key = *decoded->loaded;
    if (!key.key) return result(Verdict::PermError, key.error, sig);

    SignatureResult out = result(Verdict::Fail, {}, sig);
    out.testing = record.key->testing;
    if (sig.body_length && body.canonical_length < *sig.body_length) {
        out.reason = "body shorter than l=";
    } else if (!constant_time_equal(body.hash, sig.body_hash)) {
        out.reason = "body hash did not verify";
    } else if (!verify_hash(*key.key, sig.algorithm, sha256(header_data), sig.signature)) {
        out.reason = "signature did not verify";
    } else {
        out.verdict = Verdict::Pass;
    }
    return out;
}

std::vector<SignatureResult> verify_message(std::string_view message, const KeyLookup& lookup, std::uint64_t now) {
    std::vector<SignatureResult> out;
    std::size_t body_at = message.find("\r\n\r\n");
    std::string_view block = message.substr(0, body_at == std::string_view::npos ? message.size() : body_at + 2);
    std::string_view body = body_at == std::string_view::npos ? std::string_view{} : message.substr(body_at + 4);
    const pd::SplitHeader header = pd::split_header_block(block);
    if (!header.error.empty()) return {{Verdict::PermError, header.error, std::nullopt, false}};
    for (const auto& field : header.fields) {
        if (!proto::iequals(field.name, "DKIM-Signature")) continue;
        pd::ParsedSignature parsed = pd::parse_signature(field.value());
        if (!parsed.signature) {
            out.push_back({Verdict::PermError, parsed.error, std::nullopt, false});
            continue;
        }
        const pd::Signature& sig = *parsed.signature;
        auto data = pd::signed_header_data(sig, header.fields, field);
        if (!data) {
            out.push_back(result(Verdict::PermError, "signature field has no b= tag", sig));
            continue;
        }
        BodyHasher hasher(sig.body_canon, sig.body_length);
        hasher.feed(body);
        out.push_back(judge_signature(sig, *data, hasher.finish(), lookup(pd::key_query_name(sig)), now));
    }
    return out;
}

}  // namespace asmtpd::io::dkim
