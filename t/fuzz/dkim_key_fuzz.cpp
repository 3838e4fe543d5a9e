// dkim_key_fuzz.cpp - libFuzzer target for core/proto/dkim_key.cpp: the input is one key
// record TXT text. Invariants: a refusal says why; revoked exactly when p= decoded empty;
// key_refusal() of a revoked key always refuses, for any signature algorithm.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/proto/dkim_key.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto::dkim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const ParsedKey p = parse_key_record(in);
    if (!p.key) {
        FUZZ_CHECK(!p.error.empty());
        return 0;
    }
    FUZZ_CHECK(p.key->revoked == p.key->public_key.empty());
    Signature sig;
    sig.domain = sig.identity_domain = "example.net";
    for (Algorithm a : {Algorithm::RsaSha1, Algorithm::RsaSha256, Algorithm::Ed25519Sha256}) {
        sig.algorithm = a;
        const std::string refusal = key_refusal(*p.key, sig);
        if (p.key->revoked) FUZZ_CHECK(refusal == "key revoked");
        if ((p.key->type == KeyType::Ed25519) != (a == Algorithm::Ed25519Sha256)) FUZZ_CHECK(!refusal.empty());
    }
    return 0;
}
