// dkim_key_cache_test.cpp - tests core/io/dkim_key_cache.cpp: a key record is decoded once and
// shared; a changed record is a new entry; malformed records are cached with their error; the
// cache stays bounded; a cached key verifies as a freshly decoded one does.
#include "core/io/dkim_key_cache.hpp"

#include <doctest/doctest.h>

#include <string>

#include "core/io/dkim_crypto.hpp"
#include "core/proto/sasl.hpp"
#include "t/core/io/dkim_rfc8463.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
namespace vd = io::dkim;

TEST_CASE("dkim key cache: decoded once, shared; a changed record is a new entry; errors cached") {
    vd::KeyCache cache(8);
    const std::string bad = "v=DKIM1; k=rsa; p=bm90IGEga2V5";   // base64 of "not a key"
    auto a = cache.get(bad);
    auto b = cache.get(bad);
    CHECK(a == b);   // the same decoded entry, not a second decode
    REQUIRE(a->record.key);
    REQUIRE(a->loaded);
    CHECK_FALSE(a->loaded->key);
    CHECK(a->loaded->error == "key is not a DER SubjectPublicKeyInfo");
    auto c = cache.get("v=DKIM1; k=rsa; p=bm90IGEga2V5IGVpdGhlcg==");
    CHECK(c != a);
    auto m = cache.get("v=DKIM1; k=; p=");
    CHECK_FALSE(m->record.key);
    CHECK_FALSE(m->record.error.empty());
    CHECK_FALSE(m->loaded);
    CHECK(cache.size() == 3);
    for (int i = 0; i < 20; ++i) cache.get("v=DKIM1; n=" + std::to_string(i) + "; p=");
    CHECK(cache.size() <= 8);
}

TEST_CASE("dkim key cache: a cached RSA key verifies again and again, and refuses a wrong hash") {
    const auto priv = vd::load_private_key_pem(test::rfc8463::kRsaPrivatePem);
    REQUIRE(priv.key);
    const std::string txt = "v=DKIM1; k=rsa; p=" + proto::base64_encode(priv.key->public_key_bytes());
    vd::KeyCache cache;
    const std::string hash = vd::sha256("header data");
    const auto sig = vd::sign_hash(*priv.key, vd::Algorithm::RsaSha256, hash);
    REQUIRE(sig);
    for (int i = 0; i < 3; ++i) {
        auto d = cache.get(txt);
        REQUIRE(d->loaded);
        REQUIRE(d->loaded->key);
        CHECK(vd::verify_hash(*d->loaded->key, vd::Algorithm::RsaSha256, hash, *sig));
        CHECK_FALSE(vd::verify_hash(*d->loaded->key, vd::Algorithm::RsaSha256, vd::sha256("other data"), *sig));
    }
    CHECK(cache.size() == 1);
}

}  // namespace ASMTPD_TEST_UNIT
