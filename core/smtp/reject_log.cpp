// reject_log.cpp - see reject_log.hpp.
#include "core/smtp/reject_log.hpp"

namespace asmtpd::smtp {

RejectSubject reject_subject(hooks::Hook h, const hooks::HookArgs& args) {
    RejectSubject s;
    using hooks::Hook;
    switch (h) {
        case Hook::Helo:
        case Hook::Ehlo:
            if (auto* a = std::get_if<hooks::HeloArgs>(&args)) s.helo = a->host;
            break;
        case Hook::MailPre:
            if (auto* a = std::get_if<hooks::PathArgs>(&args)) s.sender = a->path;
            break;
        case Hook::Mail:
            if (auto* a = std::get_if<hooks::AddressArgs>(&args)) s.sender = a->address.format();
            break;
        case Hook::RcptPre:
            if (auto* a = std::get_if<hooks::PathArgs>(&args)) s.recipient = a->path;
            break;
        case Hook::Rcpt:
        case Hook::RcptPost:
            if (auto* a = std::get_if<hooks::AddressArgs>(&args)) s.recipient = a->address.format();
            break;
        default: break;
    }
    return s;
}

RejectFields::RejectFields(const RejectSubject& subject, const proto::ConnectionInfo& info,
                           const hooks::Transaction* txn)
    : client_ip_(info.remote_ip), helo_(subject.helo.empty() ? info.helo_host : subject.helo) {
    if (!subject.sender.empty()) sender_ = subject.sender;
    else if (txn && txn->sender) sender_ = txn->sender->format();
    if (!subject.recipient.empty()) {
        recipient_ = subject.recipient;
    } else if (txn) {   // data, data_post, queue: the refusal is for every accepted recipient
        for (const auto& r : txn->recipients) {
            if (!recipient_.empty()) recipient_.push_back(',');
            recipient_ += r.format();
        }
    }
    fields_.push_back({"client_ip", client_ip_});
    if (!helo_.empty()) fields_.push_back({"helo", helo_});
    if (!sender_.empty()) fields_.push_back({"sender", sender_});
    if (!recipient_.empty()) fields_.push_back({"recipient", recipient_});
}

}  // namespace asmtpd::smtp
