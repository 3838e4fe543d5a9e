// crypto.cpp - HMAC-MD5, constant-time comparison and random bytes on OpenSSL.
//
// Must never: leak timing on secret comparisons, or return digits biased by a plain modulo
// (rejection sampling keeps every digit equally likely). Stateless.
#include "core/io/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>

namespace asmtpd::io {

std::string hmac_md5_hex(std::string_view key, std::string_view data) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (key.size() > INT_MAX) return {};
    if (!HMAC(EVP_md5(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
              data.size(), mac, &len))
        return {};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out += kHex[mac[i] >> 4];
        out += kHex[mac[i] & 0x0f];
    }
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool cram_md5_verify(std::string_view secret, std::string_view challenge, std::string_view digest_hex) {
    std::string expected = hmac_md5_hex(secret, challenge);
    if (expected.size() != 32 || digest_hex.size() != 32) return false;
    std::string given(digest_hex);
    for (char& c : given)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return constant_time_equal(expected, given);
}

std::optional<std::string> random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (n == 0) return out;
    if (n > INT_MAX || RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
        return std::nullopt;
    return out;
}

std::optional<std::string> random_digits(std::size_t digits) {
    std::string out;
    out.reserve(digits);
    while (out.size() < digits) {
        auto chunk = random_bytes(digits - out.size() + 8);
        if (!chunk) return std::nullopt;
        for (char c : *chunk) {
            auto u = static_cast<unsigned char>(c);
            if (u >= 250) continue;   // 250 = 25 * 10: above it a modulo would favour 0..5
            out += static_cast<char>('0' + u % 10);
            if (out.size() == digits) break;
        }
    }
    return out;
}

}  // namespace asmtpd::io
