// dkim_crypto.cpp - SHA-256, RSA-SHA256 and Ed25519 for DKIM on OpenSSL 3 EVP.
#include "core/io/dkim_crypto.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <climits>
#include <mutex>

namespace asmtpd::io::dkim {

namespace {

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::shared_ptr<evp_pkey_st> own(EVP_PKEY* k) { return {k, EVP_PKEY_free}; }

struct PkeyCtx {
    EVP_PKEY_CTX* ctx;
    explicit PkeyCtx(EVP_PKEY* key) : ctx(EVP_PKEY_CTX_new(key, nullptr)) {}
    ~PkeyCtx() { EVP_PKEY_CTX_free(ctx); }
    PkeyCtx(const PkeyCtx&) = delete;
    PkeyCtx& operator=(const PkeyCtx&) = delete;
};

struct MdCtx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    MdCtx() = default;
    ~MdCtx() { EVP_MD_CTX_free(ctx); }
    MdCtx(const MdCtx&) = delete;
    MdCtx& operator=(const MdCtx&) = delete;
};

std::optional<KeyType> type_of(EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA: return KeyType::Rsa;
        case EVP_PKEY_ED25519: return KeyType::Ed25519;
        default: return std::nullopt;
    }
}

bool fits(KeyType type, Algorithm alg) {
    if (alg == Algorithm::RsaSha256) return type == KeyType::Rsa;
    if (alg == Algorithm::Ed25519Sha256) return type == KeyType::Ed25519;
    return false;   // rsa-sha1: never (RFC 8301)
}

}  // namespace

struct PublicKey::Prepared {
    std::mutex m;   // EVP_PKEY_CTX_dup reads the template; threads take turns
    EVP_PKEY_CTX* ctx = nullptr;
    ~Prepared() { EVP_PKEY_CTX_free(ctx); }
};

const EVP_MD* fetched_sha256();

struct PublicKeyLoader {
    static PublicKey make(EVP_PKEY* k, KeyType type) {
        PublicKey out;
        out.key_ = own(k);
        out.type_ = type;
        out.bits_ = unsigned(EVP_PKEY_get_bits(k));
        if (type == KeyType::Rsa) {
            auto p = std::make_shared<PublicKey::Prepared>();
            p->ctx = EVP_PKEY_CTX_new(k, nullptr);
            if (p->ctx && EVP_PKEY_verify_init(p->ctx) == 1 &&
                EVP_PKEY_CTX_set_rsa_padding(p->ctx, RSA_PKCS1_PADDING) == 1 &&
                EVP_PKEY_CTX_set_signature_md(p->ctx, fetched_sha256()) == 1)
                out.prepared_ = std::move(p);
        }
        return out;
    }
};

struct PrivateKeyLoader {
    static PrivateKey make(EVP_PKEY* k, KeyType type) {
        PrivateKey out;
        out.key_ = own(k);
        out.type_ = type;
        out.bits_ = unsigned(EVP_PKEY_get_bits(k));
        return out;
    }
};

// EVP_sha256() makes OpenSSL 3 look the implementation up in its provider on every init; the
// fetched one is looked up once per process and is immutable (never freed: it lives as long
// as the library).
const EVP_MD* fetched_sha256() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md ? md : EVP_sha256();
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, fetched_sha256(), nullptr); }
Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }
void Sha256::update(std::string_view b) { EVP_DigestUpdate(ctx_, b.data(), b.size()); }
std::string Sha256::finish() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    return std::string(reinterpret_cast<char*>(md), len);
}

std::string sha256(std::string_view b) {
    Sha256 h;
    h.update(b);
    return h.finish();
}

// Callers that judge many messages keep the decoded keys (dkim_key_cache: OpenSSL 3's DER
// decoding costs several times the verification).
LoadedPublicKey load_public_key(KeyType type, std::string_view key_bytes) {
    if (key_bytes.size() > INT_MAX) return {std::nullopt, "key is too large"};
    if (type == KeyType::Ed25519) {
        if (key_bytes.size() != 32) return {std::nullopt, "ed25519 key is not 32 bytes"};
        EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(key_bytes), key_bytes.size());
        if (!k) return {std::nullopt, "ed25519 key is not valid"};
        return {PublicKeyLoader::make(k, KeyType::Ed25519), {}};
    }
    const unsigned char* p = bytes(key_bytes);
    EVP_PKEY* k = d2i_PUBKEY(nullptr, &p, long(key_bytes.size()));
    if (!k) {
        p = bytes(key_bytes);
        k = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, long(key_bytes.size()));
    }
    if (!k) return {std::nullopt, "key is not a DER SubjectPublicKeyInfo"};
    if (type_of(k) != KeyType::Rsa) {
        EVP_PKEY_free(k);
        return {std::nullopt, "k=rsa but the key is not RSA"};
    }
    PublicKey key = PublicKeyLoader::make(k, KeyType::Rsa);
    if (key.bits() < kMinRsaBits) {
        return {std::nullopt, "RSA key of " + std::to_string(key.bits()) + " bits is too short"};
    }
    return {std::move(key), {}};
}

bool verify_hash(const PublicKey& key, Algorithm alg, std::string_view header_hash, std::string_view signature) {
    if (!fits(key.type(), alg) || header_hash.size() != 32) return false;
    if (alg == Algorithm::Ed25519Sha256) {
        MdCtx md;
        if (!md.ctx || EVP_DigestVerifyInit(md.ctx, nullptr, nullptr, nullptr, key.get()) != 1) return false;
        return EVP_DigestVerify(md.ctx, bytes(signature), signature.size(), bytes(header_hash), header_hash.size()) == 1;
    }
    if (key.prepared_) {
        EVP_PKEY_CTX* ctx = nullptr;
        {
            std::lock_guard<std::mutex> g(key.prepared_->m);
            ctx = EVP_PKEY_CTX_dup(key.prepared_->ctx);
        }
        if (ctx) {
            const bool ok = EVP_PKEY_verify(ctx, bytes(signature), signature.size(), bytes(header_hash), header_hash.size()) == 1;
            EVP_PKEY_CTX_free(ctx);
            return ok;
        }
    }
    PkeyCtx pk(key.get());
    if (!pk.ctx || EVP_PKEY_verify_init(pk.ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(pk.ctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(pk.ctx, fetched_sha256()) != 1)
        return false;
    return EVP_PKEY_verify(pk.ctx, bytes(signature), signature.size(), bytes(header_hash), header_hash.size()) == 1;
}

LoadedPrivateKey load_private_key_pem(std::string_view pem) {
    if (pem.size() > INT_MAX) return {std::nullopt, "key file is too large"};
    BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
    if (!bio) return {std::nullopt, "out of memory"};
    EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (!k) return {std::nullopt, "not a PEM private key"};
    auto type = type_of(k);
    if (!type) {
        EVP_PKEY_free(k);
        return {std::nullopt, "private key is neither RSA nor Ed25519"};
    }
    PrivateKey key = PrivateKeyLoader::make(k, *type);
    if (*type == KeyType::Rsa && key.bits() < kMinRsaBits) {
        return {std::nullopt, "RSA key of " + std::to_string(key.bits()) + " bits is too short"};
    }
    return {std::move(key), {}};
}

std::string PrivateKey::public_key_bytes() const {
    if (type_ == KeyType::Ed25519) {
        unsigned char raw[32];
        std::size_t len = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &len) != 1) return {};
        return std::string(reinterpret_cast<char*>(raw), len);
    }
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(key_.get(), &der);
    if (len <= 0) return {};
    std::string out(reinterpret_cast<char*>(der), std::size_t(len));
    OPENSSL_free(der);
    return out;
}

std::optional<std::string> sign_hash(const PrivateKey& key, Algorithm alg, std::string_view header_hash) {
    if (!fits(key.type(), alg) || header_hash.size() != 32) return std::nullopt;
    std::string sig(std::size_t(EVP_PKEY_get_size(key.get())), '\0');
    std::size_t len = sig.size();
    auto* out = reinterpret_cast<unsigned char*>(sig.data());
    if (alg == Algorithm::Ed25519Sha256) {
        MdCtx md;
        if (!md.ctx || EVP_DigestSignInit(md.ctx, nullptr, nullptr, nullptr, key.get()) != 1 ||
            EVP_DigestSign(md.ctx, out, &len, bytes(header_hash), header_hash.size()) != 1)
            return std::nullopt;
    } else {
        PkeyCtx pk(key.get());
        if (!pk.ctx || EVP_PKEY_sign_init(pk.ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(pk.ctx, RSA_PKCS1_PADDING) != 1 ||
            EVP_PKEY_CTX_set_signature_md(pk.ctx, EVP_sha256()) != 1 ||
            EVP_PKEY_sign(pk.ctx, out, &len, bytes(header_hash), header_hash.size()) != 1)
            return std::nullopt;
    }
    sig.resize(len);
    return sig;
}

}  // namespace asmtpd::io::dkim
