// dmarc_note_test.cpp - tests plugins/common/dmarc_note.cpp: the "dmarc" note the
// Authentication-Results writer pastes after "dmarc=".
#include "plugins/common/dmarc_note.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::plugins;
namespace dm = asmtpd::proto::dmarc;

TEST_CASE("dmarc note: results with and without a record") {
    DmarcNote n;
    n.result = dm::Result::Pass;
    n.header_from = "example.com";
    n.p = dm::Policy::Reject;
    CHECK(format_dmarc_note(n) == "pass (p=reject sp=reject dis=none) header.from=example.com");
    n.result = dm::Result::Fail;
    n.sp = dm::Policy::None;
    n.disposition = dm::Policy::Quarantine;
    n.override = dm::Override::SampledOut;
    CHECK(format_dmarc_note(n) == "fail (p=reject sp=none dis=quarantine override=sampled_out) header.from=example.com");
    DmarcNote none;
    none.header_from = "example.org";
    CHECK(format_dmarc_note(none) == "none header.from=example.org");
    none.result = dm::Result::TempError;
    CHECK(format_dmarc_note(none) == "temperror header.from=example.org");
}

TEST_CASE("dmarc note: structural permerrors, and nothing that breaks the header") {
    DmarcNote n;
    n.result = dm::Result::PermError;
    n.reason = "no From field";
    CHECK(format_dmarc_note(n) == "permerror (no From field)");
    n.reason = "odd (x); y\r\n";
    n.header_from = "b\xc3\xbc.example";
    const std::string s = format_dmarc_note(n);
    CHECK(s.find(';') == std::string::npos);
    CHECK(s.find('\r') == std::string::npos);
    CHECK(s.rfind("permerror (odd ?x?" "? y?" "?) header.from=\"", 0) == 0);
}

}  // namespace ASMTPD_TEST_UNIT
