// reject_log.hpp - the facts a refusal line carries, so one line says who was refused for what
// (fail2ban and grep need no join across lines): client_ip, helo, sender, recipient.
//
// RejectSubject is taken from a hook's arguments before the chain runs (the address or name the
// chain judges, which the transaction does not hold yet); reject_fields adds what the session
// already knows. A fact that is not known yet is left out, never written empty.
#pragma once

#include <string>
#include <vector>

#include "core/io/log_format.hpp"
#include "core/proto/connection_info.hpp"
#include "hooks/hook.hpp"
#include "hooks/hook_args.hpp"
#include "hooks/transaction.hpp"

namespace asmtpd::smtp {

struct RejectSubject {
    std::string helo;        // helo, ehlo: the name being judged
    std::string sender;      // mail_pre, mail: the path being judged
    std::string recipient;   // rcpt_pre, rcpt, rcpt_post: the path being judged
};

RejectSubject reject_subject(hooks::Hook h, const hooks::HookArgs& args);

// Owns the values; fields() views them (valid while this lives).
class RejectFields {
public:
    RejectFields(const RejectSubject& subject, const proto::ConnectionInfo& info, const hooks::Transaction* txn);
    RejectFields(const RejectFields&) = delete;
    RejectFields& operator=(const RejectFields&) = delete;
    const std::vector<io::LogField>& fields() const { return fields_; }

private:
    std::string client_ip_, helo_, sender_, recipient_;
    std::vector<io::LogField> fields_;
};

}  // namespace asmtpd::smtp
