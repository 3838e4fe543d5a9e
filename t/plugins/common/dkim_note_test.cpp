// dkim_note_test.cpp - tests plugins/common/dkim_note.cpp: the RFC 8601 "dkim" note and the
// machine-readable "dkim_results" note round trip, quoting, and no ';' inside an entry.
#include "plugins/common/dkim_note.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::plugins;

namespace {
DkimNoteEntry pass_entry() {
    return {"pass", "example.com", "sel", "rsa-sha256", "@example.com", "AbCdEfGh", false, ""};
}
}  // namespace

TEST_CASE("dkim note: RFC 8601 results") {
    CHECK(format_dkim_method_note({}) == "none");
    DkimNoteEntry fail = pass_entry();
    fail.result = "fail";
    fail.reason = "body hash did not verify";
    fail.identity = "joe@mail.example.com";
    CHECK(format_dkim_method_note({pass_entry(), fail}) ==
          "pass header.d=example.com header.i=@example.com header.s=sel header.a=rsa-sha256 header.b=AbCdEfGh; "
          "fail reason=\"body hash did not verify\" header.d=example.com header.i=joe@mail.example.com header.s=sel "
          "header.a=rsa-sha256 header.b=AbCdEfGh");
    DkimNoteEntry unparsed;
    unparsed.result = "permerror";
    unparsed.reason = "missing required tag bh=";
    CHECK(format_dkim_method_result(unparsed) == "permerror reason=\"missing required tag bh=\"");
}

TEST_CASE("dkim note: values are tokens or quoted, never with ';'") {
    CHECK(rfc8601_value("example.com") == "example.com");
    CHECK(rfc8601_value("a b") == "\"a b\"");
    CHECK(rfc8601_value("x;y\"z\\") == "\"x?y\\\"z\\\\\"");
    CHECK(rfc8601_value("") == "\"\"");
    DkimNoteEntry odd = pass_entry();
    odd.identity = "we;ird@exa mple.com";
    odd.b_prefix = "ab+/=;x";
    const std::string r = format_dkim_method_result(odd);
    CHECK(r.find(';') == std::string::npos);
    CHECK(r.find("header.i=\"we?ird@exa mple.com\"") != std::string::npos);
}

TEST_CASE("dkim note: dkim_results round trips, separators inside fields become spaces") {
    DkimNoteEntry t = pass_entry();
    t.result = "fail";
    t.testing = true;
    t.reason = "signature did not verify\tbadly\r\nreally";
    DkimNoteEntry empty;
    empty.result = "permerror";
    empty.reason = "header block too large";
    const std::string note = format_dkim_results_note({pass_entry(), t, empty});
    CHECK(note.find("pass\texample.com\tsel\trsa-sha256\t@example.com\tAbCdEfGh\tn\t\n") == 0);
    auto back = parse_dkim_results_note(note);
    REQUIRE(back.size() == 3);
    CHECK(back[0].result == "pass");
    CHECK(back[0].domain == "example.com");
    CHECK_FALSE(back[0].testing);
    CHECK(back[1].testing);
    CHECK(back[1].reason == "signature did not verify badly  really");
    CHECK(back[2].domain.empty());
    CHECK(back[2].reason == "header block too large");
    CHECK(parse_dkim_results_note("").empty());
    CHECK(parse_dkim_results_note("pass\tonly three\tfields").empty());
}

}  // namespace ASMTPD_TEST_UNIT
