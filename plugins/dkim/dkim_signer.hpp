// dkim_signer.hpp - the `dkim sign` side of the dkim plugin: which sessions are signed, the
// signing domain, the header list, and the DKIM-Signature added to the message.
//
// Signed: mail of relay clients and authenticated users (qpsmtpd signs relay clients; AUTH
// makes one), nothing else. The signing domain is the From header's domain (the author, what
// DMARC aligns against); when no key is configured for it (nor a parent domain), the envelope
// sender's domain (qpsmtpd's choice); with neither the message goes out unsigned, logged.
// rsa-sha256 or ed25519-sha256 by the key's type, relaxed/relaxed, t= now, no l=, no x=.
// The field goes to Transaction::added_headers: below our Received line, above the client's
// header, so the signature never covers Received (which the next hop may see rewritten).
// A message that cannot be signed (no From, header block too large or malformed) is accepted
// unsigned with a log line: refusing our own users' mail for it would help nobody.
// Rules: keys are loaded at init (start-up), never on a loop; signing itself is one RSA or
// Ed25519 operation on the loop thread (about 1 ms for RSA-2048, 0.05 ms for Ed25519): see
// dkim_signer.cpp for why not the pool.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/dkim_sign.hpp"
#include "core/proto/plugin_args.hpp"
#include "hooks/context.hpp"
#include "hooks/hook_call.hpp"
#include "plugins/dkim/sign_keys.hpp"

namespace asmtpd::plugins::dkim {

// RFC 4871 §5.5's list, which opendkim and Mail::DKIM sign by default.
inline constexpr std::string_view kDefaultSignedHeaders =
    "From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:"
    "Content-Transfer-Encoding:Content-ID:Content-Description:Resent-Date:Resent-From:"
    "Resent-Sender:Resent-To:Resent-Cc:Resent-Message-ID:In-Reply-To:References:List-Id:"
    "List-Help:List-Unsubscribe:List-Subscribe:List-Post:List-Owner:List-Archive";
// Debian's opendkim.conf oversigns From: a second From added on the way breaks the signature.
inline constexpr std::string_view kDefaultOversigned = "From";

class DkimSigner {
public:
    // `args`: the plugin's parsed words ("headers", "oversign"); keys from <config_dir>/dkim.
    std::optional<std::string> init(const proto::ArgPairs& args, const std::string& config_dir);

    // Why this session's mail is signed ("relay client", "authenticated"), empty if it is not.
    static std::string_view signs_for(hooks::Context& ctx);
    // At the data hook: starts hashing the transaction's content (a SignObserver).
    void attach(hooks::Context& ctx, hooks::Transaction& txn, const std::string& owner) const;
    // At data_post: adds the DKIM-Signature field, or logs why not; answers `call` (DECLINED)
    // when done.
    void sign(hooks::Context& ctx, const std::string& owner, hooks::HookCall call) const;

    const io::dkim::SignOptions& options() const { return options_; }

private:
    SigningKeys keys_;
    io::dkim::SignOptions options_;   // headers, oversigned names, relaxed/relaxed
};

// "From:To:Subject" -> the names, each once (case ignored); an error for an empty or
// non-printable name. Exposed for tests.
std::optional<std::string> parse_header_names(std::string_view text, std::vector<std::string>& names);

}  // namespace asmtpd::plugins::dkim
