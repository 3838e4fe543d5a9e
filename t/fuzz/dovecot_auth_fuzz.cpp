// dovecot_auth_fuzz.cpp - libFuzzer target for core/proto/dovecot_auth.cpp: the input is one
// line from a Dovecot auth server. Invariants: a parsed answer has a non-zero id, tab-escaping
// round-trips and never leaves a TAB, CR or LF, and a request line built from any values is
// exactly one line of TAB-separated fields.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/dovecot_auth.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string error;
    auto line = parse_dovecot_auth_line(in, error);
    if (line) {
        FUZZ_CHECK(error.empty());
        if (line->kind == DovecotAuthKind::Ok || line->kind == DovecotAuthKind::Fail ||
            line->kind == DovecotAuthKind::Cont)
            FUZZ_CHECK(line->id != 0);
        if (line->kind == DovecotAuthKind::Mech) FUZZ_CHECK(!line->mech.empty());
        if (line->temporary) FUZZ_CHECK(line->kind == DovecotAuthKind::Fail || line->kind == DovecotAuthKind::Ok);
    } else {
        FUZZ_CHECK(!error.empty());
    }
    const auto esc = dovecot_tab_escape(in);
    FUZZ_CHECK(esc.find_first_of("\t\r\n") == std::string::npos);
    FUZZ_CHECK(dovecot_tab_unescape(esc) == in);

    DovecotAuthRequest r;
    r.service = std::string(in.substr(0, size / 2));
    r.remote_ip = std::string(in.substr(size / 2));
    r.initial_response = std::string(in);
    const auto req = dovecot_auth_request_line(r);
    FUZZ_CHECK(!req.empty() && req.back() == '\n');
    FUZZ_CHECK(req.find('\n') == req.size() - 1 && req.find('\r') == std::string::npos);
    return 0;
}
