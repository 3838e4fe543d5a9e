// auth_results_fuzz.cpp - libFuzzer target for core/proto/auth_results.cpp.
// The input is an Authentication-Results value for authserv_id(); split at NULs, it is also an
// id and results for format_authentication_results(). Invariants: an id found is never longer
// than the value and, written back as a value, reads as itself; our field is one well-formed header field (it goes through
// append_header_field unchanged) whose unfolded text is exactly the one-line form.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/auth_results.hpp"
#include "core/proto/header_block.hpp"
#include "t/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto id = asmtpd::proto::authserv_id(in)) {
        FUZZ_CHECK(id->size() <= in.size());
        // Written back as an RFC 2045 value (quoted when it must be), it reads as the same id.
        bool printable = !id->empty();
        for (char c : *id)
            if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) printable = false;
        if (printable)
            FUZZ_CHECK(asmtpd::proto::claims_authserv_id(" " + asmtpd::proto::mime_value(*id) + "; none", *id));
    }

    // Printable pieces only: the plugin builds results from notes that hold no controls.
    std::vector<std::string> parts;
    std::string cur;
    for (char c : in) {
        if (c == '\0') {
            parts.push_back(cur);
            cur.clear();
        } else if (static_cast<unsigned char>(c) >= 32 && static_cast<unsigned char>(c) < 127) {
            cur.push_back(c);
        }
    }
    parts.push_back(cur);
    std::string id = parts.front().empty() ? "mx.example" : parts.front();
    std::vector<std::string> results;
    for (std::size_t i = 1; i < parts.size(); ++i)
        if (!parts[i].empty() && parts[i].front() != ' ' && parts[i].back() != ' ') results.push_back(parts[i]);
    std::string h = asmtpd::proto::format_authentication_results(id, results);
    std::string cleaned;
    FUZZ_CHECK(asmtpd::proto::append_header_field(cleaned, h));
    FUZZ_CHECK(cleaned == h + "\r\n");
    std::string one_line;
    for (std::size_t i = 0; i < h.size(); ++i) {
        if (h[i] == '\r' && i + 1 < h.size() && h[i + 1] == '\n') {
            ++i;
            continue;
        }
        one_line.push_back(h[i]);
    }
    std::string expect = "Authentication-Results: " + asmtpd::proto::mime_value(id) + ";";
    if (results.empty()) expect += " none";
    for (std::size_t i = 0; i < results.size(); ++i) expect += (h.find("\r\n") == std::string::npos ? " " : "\t") + results[i] + (i + 1 < results.size() ? ";" : "");
    FUZZ_CHECK(one_line == expect);
    return 0;
}
