// rcpthosts_test.cpp - tests plugins/common/rcpthosts.cpp: me/rcpthosts/morercpthosts, exact and
// .suffix entries, case, and the hostname fallback.
#include "plugins/common/rcpthosts.hpp"

#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::hooks::FlatConfig;
using asmtpd::plugins::RcptHosts;

TEST_CASE("rcpthosts: files, suffixes, case") {
    asmtpd::test::TempDir d;
    d.write("me", "Mail.Example.ORG\n");
    d.write("rcpthosts", "example.com\n.sub.example.net\n[192.0.2.1]\n.\n");
    d.write("morercpthosts", "more.example\n");
    FlatConfig cfg(d.path());
    auto h = RcptHosts::load(cfg, "ignored.example");
    CHECK(h.local_domain("mail.example.org"));
    CHECK(h.local_domain("EXAMPLE.COM"));
    CHECK(h.local_domain("more.example"));
    CHECK(h.local_domain("[192.0.2.1]"));
    CHECK(h.local_domain("a.sub.example.net"));
    CHECK_FALSE(h.local_domain("sub.example.net"));
    CHECK_FALSE(h.local_domain("xsub.example.net"));
    CHECK_FALSE(h.local_domain("www.example.com"));
    CHECK_FALSE(h.local_domain("ignored.example"));
    CHECK_FALSE(h.local_domain(""));
    CHECK_FALSE(h.local_domain("anything"));   // a lone "." adds nothing
}

TEST_CASE("rcpthosts: without me, the hostname is local; empty sets") {
    asmtpd::test::TempDir d;
    FlatConfig cfg(d.path());
    auto h = RcptHosts::load(cfg, "Host.Example");
    CHECK(h.local_domain("host.example"));
    CHECK_FALSE(h.empty());
    RcptHosts none;
    CHECK(none.empty());
    CHECK_FALSE(none.local_domain("host.example"));
}

}  // namespace ASMTPD_TEST_UNIT
