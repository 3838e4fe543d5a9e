// dkim_crypto.hpp - the OpenSSL side of DKIM: SHA-256 (body and header hashes), RSA-SHA256
// PKCS#1 v1.5 (RFC 6376 §3.3.1) and Ed25519 (RFC 8463) verification and signing.
//
// Both algorithms sign the SHA-256 of the canonical header data: RSA as a PKCS#1 v1.5
// DigestInfo over that hash, Ed25519 (RFC 8463 §3) as PureEdDSA over the 32 hash bytes
// themselves. So verify_hash() and sign_hash() take the header hash, and the caller can feed
// the header data to a Sha256 however it arrives.
//
// Key policy lives here because only here is the key decoded: RSA keys under kMinRsaBits
// (1024, RFC 8301 §3.2) are refused at load time, with the size in the reason.
// Must never: accept rsa-sha1 (RFC 8301), or a key of one type for the other algorithm.
// No I/O; keys are immutable and may be shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/proto/dkim_key.hpp"
#include "core/proto/dkim_signature.hpp"

struct evp_pkey_st;
struct evp_md_ctx_st;

namespace asmtpd::io::dkim {

using proto::dkim::Algorithm;
using proto::dkim::KeyType;

inline constexpr unsigned kMinRsaBits = 1024;

// Incremental SHA-256; finish() returns the 32 raw digest bytes and ends the hasher.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::string_view bytes);
    std::string finish();

private:
    evp_md_ctx_st* ctx_;
};

std::string sha256(std::string_view bytes);

// A public key (rsa or ed25519) decoded from a key record's p=.
class PublicKey {
public:
    KeyType type() const { return type_; }
    unsigned bits() const { return bits_; }
    evp_pkey_st* get() const { return key_.get(); }

    // RSA: a verification context set up once (padding, digest) and copied per verification,
    // since OpenSSL 3's init looks the algorithm and the digest up in its provider every time,
    // at about the cost of the verification itself. Shared by the copies of this key.
    struct Prepared;

private:
    friend struct PublicKeyLoader;
    friend bool verify_hash(const PublicKey&, Algorithm, std::string_view, std::string_view);
    std::shared_ptr<evp_pkey_st> key_;
    std::shared_ptr<Prepared> prepared_;
    KeyType type_ = KeyType::Rsa;
    unsigned bits_ = 0;
};

struct LoadedPublicKey {
    std::optional<PublicKey> key;
    std::string error;   // "key is not a DER SubjectPublicKeyInfo", "RSA key of 512 bits is too short"
};

// rsa: DER SubjectPublicKeyInfo (what p= carries; a bare PKCS#1 RSAPublicKey is also taken,
// as some old records hold one). ed25519: the 32 raw public key bytes (RFC 8463 §4).
LoadedPublicKey load_public_key(KeyType type, std::string_view key_bytes);

// True when `signature` is `key`'s valid signature of `header_hash` (32 bytes) under `alg`.
bool verify_hash(const PublicKey& key, Algorithm alg, std::string_view header_hash, std::string_view signature);

// A private key for signing, from PEM (PKCS#8 "PRIVATE KEY" or "RSA PRIVATE KEY").
class PrivateKey {
public:
    KeyType type() const { return type_; }
    unsigned bits() const { return bits_; }
    evp_pkey_st* get() const { return key_.get(); }
    // The p= value's bytes: DER SubjectPublicKeyInfo (rsa) or the 32 raw bytes (ed25519).
    std::string public_key_bytes() const;

private:
    friend struct PrivateKeyLoader;
    std::shared_ptr<evp_pkey_st> key_;
    KeyType type_ = KeyType::Rsa;
    unsigned bits_ = 0;
};

struct LoadedPrivateKey {
    std::optional<PrivateKey> key;
    std::string error;
};

LoadedPrivateKey load_private_key_pem(std::string_view pem);

// The signature of `header_hash` under `alg`; nullopt when the key does not fit the
// algorithm, or for rsa-sha1, or when OpenSSL fails.
std::optional<std::string> sign_hash(const PrivateKey& key, Algorithm alg, std::string_view header_hash);

}  // namespace asmtpd::io::dkim
