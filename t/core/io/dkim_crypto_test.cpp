// dkim_crypto_test.cpp - tests core/io/dkim_crypto.cpp: SHA-256 vectors and streaming,
// key loading and the RSA size policy, and RSA-SHA256 / Ed25519 signatures reproduced
// byte for byte from RFC 8463 Appendix A (both are deterministic), then round trips.
#include "core/io/dkim_crypto.hpp"

#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <string>

#include "core/proto/dkim_header.hpp"
#include "core/proto/sasl.hpp"
#include "t/core/io/dkim_rfc8463.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io::dkim;
using asmtpd::proto::base64_decode;
using asmtpd::proto::base64_encode;
namespace pd = asmtpd::proto::dkim;
namespace rfc = asmtpd::test::rfc8463;

namespace {
std::string hash_of_signature_field(std::size_t which) {
    auto end = rfc::kSignedMessage.find("\r\n\r\n");
    auto header = pd::split_header_block(rfc::kSignedMessage.substr(0, end + 2));
    const auto& field = header.fields.at(which);
    auto sig = pd::parse_signature(field.value());
    REQUIRE(sig.signature);
    return sha256(*pd::signed_header_data(*sig.signature, header.fields, field));
}
PublicKey public_key_of(std::string_view record) {
    auto k = pd::parse_key_record(record);
    REQUIRE(k.key);
    auto loaded = load_public_key(k.key->type, k.key->public_key);
    INFO(loaded.error);
    REQUIRE(loaded.key);
    return *loaded.key;
}
// A fresh RSA key of `bits` as PEM (PKCS#8).
std::string rsa_pem(unsigned bits) {
    EVP_PKEY* k = EVP_RSA_gen(bits);
    REQUIRE(k);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string pem(data, std::size_t(len));
    BIO_free(bio);
    EVP_PKEY_free(k);
    return pem;
}
}  // namespace

TEST_CASE("SHA-256: FIPS 180 vectors, streaming equals one shot, the two empty DKIM bodies") {
    CHECK(base64_encode(sha256("abc")) == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    CHECK(base64_encode(sha256("")) == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");   // relaxed empty body
    CHECK(base64_encode(sha256("\r\n")) == "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");   // simple empty body
    Sha256 h;
    for (char c : std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) h.update(std::string_view(&c, 1));
    CHECK(base64_encode(h.finish()) == base64_encode(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")));
}

TEST_CASE("RFC 8463 A: the keys load; the example signatures verify") {
    PublicKey ed = public_key_of(rfc::kEd25519Record);
    PublicKey rsa = public_key_of(rfc::kRsaRecord);
    CHECK(ed.type() == KeyType::Ed25519);
    CHECK(rsa.type() == KeyType::Rsa);
    CHECK(rsa.bits() == 1024);
    auto b_of = [](std::size_t which) {
        auto end = rfc::kSignedMessage.find("\r\n\r\n");
        auto header = pd::split_header_block(rfc::kSignedMessage.substr(0, end + 2));
        return pd::parse_signature(header.fields.at(which).value()).signature->signature;
    };
    CHECK(verify_hash(ed, Algorithm::Ed25519Sha256, hash_of_signature_field(0), b_of(0)));
    CHECK(verify_hash(rsa, Algorithm::RsaSha256, hash_of_signature_field(1), b_of(1)));
    // Crossed: wrong hash, wrong algorithm for the key, rsa-sha1 never.
    CHECK_FALSE(verify_hash(ed, Algorithm::Ed25519Sha256, hash_of_signature_field(1), b_of(0)));
    CHECK_FALSE(verify_hash(rsa, Algorithm::RsaSha256, hash_of_signature_field(0), b_of(1)));
    CHECK_FALSE(verify_hash(ed, Algorithm::RsaSha256, hash_of_signature_field(0), b_of(0)));
    CHECK_FALSE(verify_hash(rsa, Algorithm::RsaSha1, hash_of_signature_field(1), b_of(1)));
    CHECK_FALSE(verify_hash(rsa, Algorithm::RsaSha256, "short", b_of(1)));
}

TEST_CASE("RFC 8463 A.1 private keys reproduce the A.3 signatures byte for byte") {
    auto ed = load_private_key_pem(rfc::kEd25519PrivatePem);
    auto rsa = load_private_key_pem(rfc::kRsaPrivatePem);
    REQUIRE(ed.key);
    REQUIRE(rsa.key);
    CHECK(base64_encode(ed.key->public_key_bytes()) == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    CHECK(base64_encode(*sign_hash(*ed.key, Algorithm::Ed25519Sha256, hash_of_signature_field(0))) ==
          "9/dsDChY0YMTtD5Eyw3wx7x22BlSJP7M5ECbJ7GWrR45nXlTCGb8l0YBo0wBLR++X5LqmsxXaOYLLJe46l10AQ==");
    CHECK(base64_encode(*sign_hash(*rsa.key, Algorithm::RsaSha256, hash_of_signature_field(1))) ==
          "icKcLSEZYXJ95flvWE8FT6hl5iqd8MC/LEKYH0QjsqYy6MO/4pgVNCZHl/RAXAuADxE/40Fg7uTlxwwD1hjN2Ple6J//"
          "cJfslBdDOq6zTVbne1dqtlNOat7iamJ1AfRqyG+ja7a2AZsrpUuJ7VA6O+0zRYPqpwMEkEFIzI9i/Xk=");
    CHECK_FALSE(sign_hash(*ed.key, Algorithm::RsaSha256, hash_of_signature_field(0)));
    CHECK_FALSE(sign_hash(*rsa.key, Algorithm::RsaSha1, hash_of_signature_field(1)));
}

TEST_CASE("RSA 2048 round trip: the public key from the private key verifies, a flipped bit does not") {
    auto priv = load_private_key_pem(rsa_pem(2048));
    REQUIRE(priv.key);
    CHECK(priv.key->bits() == 2048);
    auto pub = load_public_key(KeyType::Rsa, priv.key->public_key_bytes());
    REQUIRE(pub.key);
    const std::string hash = sha256("some header data");
    auto sig = sign_hash(*priv.key, Algorithm::RsaSha256, hash);
    REQUIRE(sig);
    CHECK(sig->size() == 256);
    CHECK(verify_hash(*pub.key, Algorithm::RsaSha256, hash, *sig));
    std::string bad = *sig;
    bad[10] = char(bad[10] ^ 1);
    CHECK_FALSE(verify_hash(*pub.key, Algorithm::RsaSha256, hash, bad));
    CHECK_FALSE(verify_hash(*pub.key, Algorithm::RsaSha256, sha256("other data"), *sig));
}

TEST_CASE("RFC 8301: RSA keys under 1024 bits are refused, public and private") {
    const std::string pem = rsa_pem(768);
    auto priv = load_private_key_pem(pem);
    CHECK_FALSE(priv.key);
    CHECK(priv.error.find("768") != std::string::npos);
    // The public half, as a key record would carry it.
    BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    REQUIRE(k);
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(k, &der);
    std::string spki(reinterpret_cast<char*>(der), std::size_t(len));
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    auto pub = load_public_key(KeyType::Rsa, spki);
    CHECK_FALSE(pub.key);
    CHECK(pub.error.find("768 bits is too short") != std::string::npos);
}

TEST_CASE("bad key material is refused with a reason") {
    CHECK_FALSE(load_public_key(KeyType::Rsa, "not der").key);
    CHECK_FALSE(load_public_key(KeyType::Ed25519, std::string(31, 'x')).key);
    // An ed25519 SPKI offered as k=rsa.
    auto ed = load_private_key_pem(rfc::kEd25519PrivatePem);
    REQUIRE(ed.key);
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(ed.key->get(), &der);
    std::string spki(reinterpret_cast<char*>(der), std::size_t(len));
    OPENSSL_free(der);
    CHECK(load_public_key(KeyType::Rsa, spki).error == "k=rsa but the key is not RSA");
    CHECK_FALSE(load_private_key_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").key);
    CHECK_FALSE(load_private_key_pem("").key);
}

}  // namespace ASMTPD_TEST_UNIT
