// builtin.cpp - the one table of built-in plugins: config/plugins name -> factory.
//
// No self-registration and no globals: adding a plugin means adding its factory here. Aliases
// (qpsmtpd's older names) are extra rows pointing at the same factory.
#include "plugins/builtin.hpp"

#include <memory>

namespace asmtpd::plugins {

// Defined in the plugin files; each file is one plugin and includes no other.
std::unique_ptr<hooks::Plugin> make_rcpt_ok();
std::unique_ptr<hooks::Plugin> make_relay();
std::unique_ptr<hooks::Plugin> make_check_badmailfrom();
std::unique_ptr<hooks::Plugin> make_check_badrcptto();
std::unique_ptr<hooks::Plugin> make_hosts_allow();
std::unique_ptr<hooks::Plugin> make_count_unrecognized_commands();
std::unique_ptr<hooks::Plugin> make_check_earlytalker();
std::unique_ptr<hooks::Plugin> make_queue_maildir();
std::unique_ptr<hooks::Plugin> make_queue_discard();
std::unique_ptr<hooks::Plugin> make_spp();
std::unique_ptr<hooks::Plugin> make_queue_qmail_queue();
std::unique_ptr<hooks::Plugin> make_queue_smtp_forward();
std::unique_ptr<hooks::Plugin> make_queue_lmtp();
std::unique_ptr<hooks::Plugin> make_dso();
std::unique_ptr<hooks::Plugin> make_auth_flat_file();
std::unique_ptr<hooks::Plugin> make_auth_checkpassword();
std::unique_ptr<hooks::Plugin> make_auth_dovecot();
std::unique_ptr<hooks::Plugin> make_auth_imap();
std::unique_ptr<hooks::Plugin> make_sender_permitted_from();
std::unique_ptr<hooks::Plugin> make_whitelist();
std::unique_ptr<hooks::Plugin> make_greylisting();
std::unique_ptr<hooks::Plugin> make_karma();
std::unique_ptr<hooks::Plugin> make_naughty();
std::unique_ptr<hooks::Plugin> make_dnsbl();
std::unique_ptr<hooks::Plugin> make_rhsbl();
std::unique_ptr<hooks::Plugin> make_fcrdns();
std::unique_ptr<hooks::Plugin> make_helo();
std::unique_ptr<hooks::Plugin> make_resolvable_fromhost();
std::unique_ptr<hooks::Plugin> make_dkim();
std::unique_ptr<hooks::Plugin> make_dmarc();
std::unique_ptr<hooks::Plugin> make_spamassassin();
std::unique_ptr<hooks::Plugin> make_milter();
std::unique_ptr<hooks::Plugin> make_virus_clamdscan();
std::unique_ptr<hooks::Plugin> make_rspamd();
std::unique_ptr<hooks::Plugin> make_authentication_results();
std::unique_ptr<hooks::Plugin> make_headers();
std::unique_ptr<hooks::Plugin> make_loop();
std::unique_ptr<hooks::Plugin> make_bogus_bounce();
std::unique_ptr<hooks::Plugin> make_uribl();
std::unique_ptr<hooks::Plugin> make_limit();
std::unique_ptr<hooks::Plugin> make_tarpit();

std::span<const hooks::CatalogEntry> builtin_plugins() {
    static constexpr hooks::CatalogEntry kTable[] = {
        {"rcpt_ok", &make_rcpt_ok},
        {"relay", &make_relay},
        {"check_badmailfrom", &make_check_badmailfrom},
        {"badmailfrom", &make_check_badmailfrom},
        {"check_badrcptto", &make_check_badrcptto},
        {"badrcptto", &make_check_badrcptto},
        {"hosts_allow", &make_hosts_allow},
        {"count_unrecognized_commands", &make_count_unrecognized_commands},
        {"check_earlytalker", &make_check_earlytalker},
        {"earlytalker", &make_check_earlytalker},
        {"queue/maildir", &make_queue_maildir},
        {"queue/discard", &make_queue_discard},
        {"spp", &make_spp, "spp_programs"},
        {"queue/qmail-queue", &make_queue_qmail_queue},
        {"queue/smtp_forward", &make_queue_smtp_forward},
        {"queue/lmtp", &make_queue_lmtp},
        {"dso", &make_dso},
        {"auth/flat_file", &make_auth_flat_file},
        {"auth/checkpassword", &make_auth_checkpassword},
        {"auth/dovecot", &make_auth_dovecot},
        {"auth/imap", &make_auth_imap},
        {"sender_permitted_from", &make_sender_permitted_from},
        {"whitelist", &make_whitelist},
        {"greylisting", &make_greylisting},
        {"karma", &make_karma},
        {"naughty", &make_naughty},
        {"dnsbl", &make_dnsbl},
        {"rhsbl", &make_rhsbl},
        {"fcrdns", &make_fcrdns},
        {"helo", &make_helo},
        {"resolvable_fromhost", &make_resolvable_fromhost},
        {"dkim", &make_dkim},
        {"dmarc", &make_dmarc},
        {"spamassassin", &make_spamassassin},
        {"milter", &make_milter},
        {"virus/clamdscan", &make_virus_clamdscan},
        {"rspamd", &make_rspamd},
        {"authentication_results", &make_authentication_results},
        {"headers", &make_headers},
        {"loop", &make_loop},
        {"bogus_bounce", &make_bogus_bounce},
        {"uribl", &make_uribl},
        {"limit", &make_limit, "limit"},
        {"tarpit", &make_tarpit},
    };
    return kTable;
}

}  // namespace asmtpd::plugins
