// builtin_test.cpp - tests plugins/builtin.cpp: the catalog's names, aliases and factories.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "plugins/builtin.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;

TEST_CASE("builtin catalog: unique names, working factories, qpsmtpd aliases") {
    auto table = plugins::builtin_plugins();
    std::set<std::string> names;
    for (const auto& e : table) {
        CAPTURE(e.name);
        CHECK(names.insert(e.name).second);
        REQUIRE(static_cast<bool>(e.make));
        auto p = e.make();
        CHECK(p != nullptr);
    }
    for (const char* n : {"rcpt_ok", "relay", "check_badmailfrom", "badmailfrom", "check_badrcptto", "badrcptto",
                          "hosts_allow", "count_unrecognized_commands", "check_earlytalker", "earlytalker",
                          "queue/maildir", "queue/discard"})
        CHECK(names.count(n) == 1);
}

}  // namespace ASMTPD_TEST_UNIT
