// dkim_dkimpy_test.cpp - differential test of core/io/dkim_verify.cpp and dkim_sign.cpp
// against dkimpy (Debian's python3-dkim, an independent implementation).
//
// t/fixtures/dkim/dkimpy_corpus.py generates keys with openssl into a temp dir and signs a
// corpus with dkimpy: five messages (plain, folded and multi-Received headers, 8-bit, empty
// body, 10 KB) x four canonicalizations x rsa-sha256 / ed25519-sha256, plus l= (with text
// appended), changed body, changed/refolded/reordered headers, whitespace changes, trailing
// empty lines, revoked key, missing key and a 512-bit key. Our verdict must equal dkimpy's
// on every message (dkimpy says only pass or fail, so our fail, permerror and temperror all
// count as fail). Then the other way round: we sign the same messages in every
// canonicalization, with and without l= and oversigning, and dkimpy must pass them all;
// and, signed with x= two days in the past, dkimpy and we must both fail them.
#include "core/io/dkim_verify.hpp"

#include <doctest/doctest.h>

#include <stdlib.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/io/dkim_sign.hpp"
#include "core/proto/dkim_header.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io::dkim;
namespace fs = std::filesystem;
namespace pd = asmtpd::proto::dkim;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// "name<TAB>value" lines.
std::map<std::string, std::string> tab_file(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        auto tab = line.find('\t');
        if (tab != std::string::npos) out[line.substr(0, tab)] = line.substr(tab + 1);
    }
    return out;
}

std::string run(const std::string& command) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    INFO(command);
    REQUIRE(::pclose(p) == 0);
    return out;
}

struct Corpus {
    fs::path dir;
    std::map<std::string, std::string> zone, expected;

    Corpus() {
        std::string tmpl = (fs::temp_directory_path() / "asmtpd-dkimpy-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
        const std::string script = std::string(ASMTPD_SOURCE_DIR) + "/t/fixtures/dkim/dkimpy_corpus.py";
        INFO("needs python3-dkim, python3-nacl and openssl (scripts/bootstrap)");
        run("/usr/bin/python3 " + script + " make " + dir.string() + " 2>&1");
        zone = tab_file(slurp(dir / "keys.txt"));
        expected = tab_file(slurp(dir / "cases.txt"));
    }
    ~Corpus() { fs::remove_all(dir); }

    KeyLookup lookup() const {
        return [this](const std::string& name) {
            auto it = zone.find(name);
            if (it == zone.end()) return KeyAnswer{KeyAnswer::Status::NotFound, {}};
            return KeyAnswer{KeyAnswer::Status::Found, it->second};
        };
    }
};

// The message without its first header field (the signature dkimpy put on top).
std::string unsigned_message(const std::string& signed_message) {
    auto header = pd::split_header_block(signed_message.substr(0, signed_message.find("\r\n\r\n") + 2));
    REQUIRE(!header.fields.empty());
    return signed_message.substr(header.fields[0].raw.size() + 2);
}

}  // namespace

TEST_CASE("differential: our verdicts equal dkimpy's, and dkimpy passes what we sign") {
    Corpus corpus;
    REQUIRE(corpus.expected.size() > 200);
    const auto now = std::uint64_t(std::time(nullptr));
    std::size_t agreed = 0, passes = 0;
    for (const auto& [name, dkimpy] : corpus.expected) {
        const std::string message = slurp(corpus.dir / (name + ".eml"));
        auto results = verify_message(message, corpus.lookup(), now);
        REQUIRE(results.size() == 1);
        const std::string ours = results[0].verdict == Verdict::Pass ? "pass" : "fail";
        INFO(name, ": dkimpy ", dkimpy, ", ours ", to_string(results[0].verdict), " (", results[0].reason, ")");
        CHECK(ours == dkimpy);
        agreed += ours == dkimpy;
        passes += dkimpy == "pass";
    }
    MESSAGE("dkimpy differential: ", agreed, "/", corpus.expected.size(), " verdicts agree (", passes, " pass)");
    CHECK(passes > 100);

    // The other way: we sign, dkimpy verifies.
    const fs::path ours_dir = corpus.dir / "ours";
    fs::create_directory(ours_dir);
    auto rsa = load_private_key_pem(slurp(corpus.dir / "rsa2048.pem"));
    auto ed = load_private_key_pem(slurp(corpus.dir / "ed25519.pem"));
    REQUIRE(rsa.key);
    REQUIRE(ed.key);
    // Variants: 0 plain, 1 l= and oversigned, 2 expired (x= two days ago: both must fail).
    std::map<std::string, std::string> ours;   // file name -> our verdict
    std::size_t expected_passes = 0;
    for (const auto& [name, dkimpy] : corpus.expected) {
        if (!name.ends_with("_rsa")) continue;   // one per (message, canonicalization)
        const std::string message = unsigned_message(slurp(corpus.dir / (name + ".eml")));
        for (const auto& [key, selector] : {std::pair{&*rsa.key, "rsa"}, {&*ed.key, "ed"}}) {
            for (int variant = 0; variant < 3; ++variant) {
                SignOptions o;
                o.domain = "example.org";
                o.selector = selector;
                o.header_canon = name.find("_relaxed-") != std::string::npos ? pd::Canon::Relaxed : pd::Canon::Simple;
                o.body_canon = name.find("-relaxed_") != std::string::npos ? pd::Canon::Relaxed : pd::Canon::Simple;
                o.body_length = variant == 1;
                o.oversign = variant == 1;
                // dkimpy allows 10 hours of clock skew, we allow kClockSkew: two days is past both.
                o.timestamp = variant == 2 ? now - 3 * 86400 : now;
                if (variant == 2) o.expiration = now - 2 * 86400;
                auto r = sign_message(message, *key, o);
                INFO(name, " ", selector, ": ", r.error);
                REQUIRE(r.field);
                const std::string file = name + "_" + selector + std::to_string(variant);
                std::ofstream(ours_dir / (file + ".eml"), std::ios::binary) << *r.field << message;
                auto mine = verify_message(*r.field + message, corpus.lookup(), now);
                REQUIRE(mine.size() == 1);
                ours[file] = mine[0].verdict == Verdict::Pass ? "pass" : "fail";
                CHECK(ours[file] == (variant == 2 ? "fail" : "pass"));
                expected_passes += variant != 2;
            }
        }
    }
    const std::string script = std::string(ASMTPD_SOURCE_DIR) + "/t/fixtures/dkim/dkimpy_corpus.py";
    const auto verdicts = tab_file(run("/usr/bin/python3 " + script + " verify " + ours_dir.string()));
    CHECK(verdicts.size() == ours.size());
    std::size_t dkimpy_passed = 0, same = 0;
    for (const auto& [name, verdict] : verdicts) {
        INFO(name);
        CHECK(verdict == ours[name]);
        same += verdict == ours[name];
        dkimpy_passed += verdict == "pass";
    }
    CHECK(dkimpy_passed == expected_passes);
    MESSAGE("we signed ", ours.size(), " messages (", expected_passes, " valid, the rest expired): dkimpy agrees on ",
            same, ", passes ", dkimpy_passed);
}

}  // namespace ASMTPD_TEST_UNIT
