// dkim_body_hash_test.cpp - tests core/io/dkim_body_hash.cpp: the RFC 8463 Appendix A body
// hash from streamed chunks, the two empty-body hashes, and l= capping the hash only.
#include "core/io/dkim_body_hash.hpp"

#include <doctest/doctest.h>

#include <string>

#include "core/proto/sasl.hpp"

using namespace asmtpd::io::dkim;
using asmtpd::proto::base64_encode;
using asmtpd::proto::dkim::Canon;

TEST_CASE("RFC 8463 A.3 bh= from the body fed in chunks of any size") {
    const std::string body = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n";
    for (std::size_t step = 1; step <= body.size(); ++step) {
        BodyHasher h(Canon::Simple, std::nullopt);
        for (std::size_t i = 0; i < body.size(); i += step) h.feed(std::string_view(body).substr(i, step));
        const BodyDigest d = h.finish();
        CAPTURE(step);
        CHECK(base64_encode(d.hash) == "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
        CHECK(d.canonical_length == body.size() - 2);   // the trailing empty line is not hashed
    }
}

TEST_CASE("empty bodies: the well-known simple and relaxed hashes") {
    BodyHasher simple(Canon::Simple, std::nullopt);
    CHECK(base64_encode(simple.finish().hash) == "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
    BodyHasher relaxed(Canon::Relaxed, std::nullopt);
    relaxed.feed("\r\n\r\n");
    const BodyDigest d = relaxed.finish();
    CHECK(base64_encode(d.hash) == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    CHECK(d.canonical_length == 0);
}

TEST_CASE("l= caps what is hashed, not the length reported") {
    BodyHasher h(Canon::Relaxed, 3);
    h.feed("abc  def\r\nmore\r\n");
    const BodyDigest d = h.finish();
    CHECK(d.hash == sha256("abc"));
    CHECK(d.canonical_length == 15);
}
