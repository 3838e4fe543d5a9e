// config_path_test.cpp - tests core/proto/config_path.cpp: relative configuration paths are
// taken from the configuration directory, absolute and empty ones stay as written.
#include "core/proto/config_path.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::resolve_config_path;

TEST_CASE("resolve_config_path: relative paths are taken from the config directory") {
    CHECK(resolve_config_path("/srv/asmtpd/config", "spool") == "/srv/asmtpd/config/spool");
    CHECK(resolve_config_path("/srv/asmtpd/config", "./var/spool") == "/srv/asmtpd/config/var/spool");
    CHECK(resolve_config_path("/srv/asmtpd/config", "../var/mail") == "/srv/asmtpd/var/mail");
    CHECK(resolve_config_path("/srv/asmtpd/config/", "../var/mail/") == "/srv/asmtpd/var/mail");
    CHECK(resolve_config_path("/srv/asmtpd/config", "dkim/../keys//a.pem") == "/srv/asmtpd/config/keys/a.pem");
    CHECK(resolve_config_path("/srv/asmtpd/config", ".") == "/srv/asmtpd/config");
    CHECK(resolve_config_path("/etc", "../../..") == "/");
}

TEST_CASE("resolve_config_path: absolute and empty paths stay as written") {
    CHECK(resolve_config_path("/srv/asmtpd/config", "/var/spool/asmtpd/") == "/var/spool/asmtpd/");
    CHECK(resolve_config_path("/srv/asmtpd/config", "/a/../b") == "/a/../b");
    CHECK(resolve_config_path("/srv/asmtpd/config", "") == "");
}

TEST_CASE("resolve_config_path: a relative base gives a path relative to the same place") {
    CHECK(resolve_config_path("config", "../var/mail") == "var/mail");
    CHECK(resolve_config_path("config", "..") == ".");
    CHECK(resolve_config_path("", "./x/") == "x");
}

}  // namespace ASMTPD_TEST_UNIT
