// next_hop_security.cpp - the STARTTLS and AUTH keys of queue/smtp_forward (see next_hop.hpp's
// parse_client_security).
//
// Must never: accept a configuration that would send credentials in plaintext without the
// explicit auth_plaintext yes, to an MX host chosen by DNS, or one whose TLS promise cannot be
// kept (tls on a Unix socket, verification without a name). Pure: no I/O (the CA file and the
// password file are read by load_client_security, client_tls.cpp).
#include <string>

#include "core/client/next_hop.hpp"

namespace asmtpd::client {

namespace {

std::optional<bool> yes_no(const std::optional<std::string>& v, bool dflt) {
    if (!v) return dflt;
    if (*v == "yes" || *v == "1" || *v == "true") return true;
    if (*v == "no" || *v == "0" || *v == "false") return false;
    return std::nullopt;
}

bool printable(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x21 || c == 0x7f) return false;
    return !s.empty();
}

}  // namespace

std::string_view to_string(TlsMode m) {
    switch (m) {
        case TlsMode::None: return "none";
        case TlsMode::Opportunistic: return "opportunistic";
        case TlsMode::Required: return "required";
    }
    return "?";
}

std::optional<std::string> parse_client_security(const SecurityArgs& a, NextHopProtocol protocol,
                                                 const NextHop& hop, ClientSecurity& out) {
    out = ClientSecurity{};
    const bool any = a.tls || a.tls_verify || a.ca_file || a.tls_name || a.auth_user || a.auth_pass_file ||
                     a.auth_pass || a.auth_plaintext;
    if (!any) return std::nullopt;
    if (protocol != NextHopProtocol::Smtp)
        return std::string("tls, tls_verify, ca_file, tls_name and auth_* are for queue/smtp_forward only");
    std::optional<bool> level_verify;   // what a Postfix level name fixes tls_verify to
    if (a.tls) {
        if (*a.tls == "none" || *a.tls == "no") out.tls = TlsMode::None;
        else if (*a.tls == "opportunistic" || *a.tls == "yes") out.tls = TlsMode::Opportunistic;
        else if (*a.tls == "required") out.tls = TlsMode::Required;
        else if (*a.tls == "may") {
            out.tls = TlsMode::Opportunistic;
            level_verify = false;
        } else if (*a.tls == "encrypt") {
            out.tls = TlsMode::Required;
            level_verify = false;
        } else if (*a.tls == "verify" || *a.tls == "secure") {
            out.tls = TlsMode::Required;
            level_verify = true;
        } else return "bad tls '" + *a.tls + "' (none, opportunistic, required, or Postfix's may, encrypt, verify, secure)";
    }
    const bool tls = out.tls != TlsMode::None;
    if (tls && hop.unix_socket) return std::string("tls is for a TCP next hop, not a Unix socket");
    auto verify = yes_no(a.tls_verify, level_verify.value_or(out.tls == TlsMode::Required && !hop.mx));
    if (!verify) return "bad tls_verify '" + *a.tls_verify + "' (yes or no)";
    if (level_verify && *verify != *level_verify)
        return "tls " + *a.tls + " means tls_verify " + (*level_verify ? "yes" : "no") + ": drop tls_verify " +
               *a.tls_verify;
    out.verify = *verify;
    if (!tls && (a.tls_verify || a.ca_file || a.tls_name))
        return std::string("tls_verify, ca_file and tls_name need tls opportunistic or tls required");
    if (hop.mx && (out.verify || a.tls_name))
        return std::string("mx: tls_verify yes and tls_name need a named next hop (MX host names are not "
                           "authenticated without DANE or MTA-STS)");
    if (a.ca_file) {
        if (a.ca_file->empty()) return std::string("empty ca_file");
        out.ca_file = *a.ca_file;
    }
    if (a.tls_name) {
        if (!valid_host_name(*a.tls_name)) return "bad tls_name '" + *a.tls_name + "' (a host name)";
        out.tls_name = *a.tls_name;
    } else if (tls && !hop.mx) {
        out.tls_name = hop.host;   // the smarthost as configured: a name, localhost or an IP literal
    }

    auto plaintext = yes_no(a.auth_plaintext, false);
    if (!plaintext) return "bad auth_plaintext '" + *a.auth_plaintext + "' (yes or no)";
    out.auth_plaintext = *plaintext;
    if (!a.auth_user) {
        if (a.auth_pass_file || a.auth_pass || a.auth_plaintext)
            return std::string("auth_pass_file, auth_pass and auth_plaintext need auth_user");
        return std::nullopt;
    }
    if (hop.mx) return std::string("mx: no AUTH (credentials would go to whichever MX host DNS names)");
    if (!printable(*a.auth_user)) return std::string("auth_user must be printable, without blanks");
    out.auth_user = *a.auth_user;
    if (a.auth_pass_file.has_value() == a.auth_pass.has_value())
        return std::string("auth_user needs exactly one of auth_pass_file PATH (preferred) and auth_pass PASSWORD");
    if (a.auth_pass_file) {
        if (a.auth_pass_file->empty()) return std::string("empty auth_pass_file");
        out.auth_pass_file = *a.auth_pass_file;
    } else {
        out.auth_pass = *a.auth_pass;
    }
    if (!tls && !out.auth_plaintext)
        return std::string("auth_user without tls would send the password in plaintext: set tls required "
                           "(or opportunistic), or auth_plaintext yes");
    return std::nullopt;
}

}  // namespace asmtpd::client
