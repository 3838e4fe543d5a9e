// milter_edits.hpp - applies what a milter asked for at end of message to the transaction:
// header additions, changes and insertions (Transaction::header_edits and added_headers),
// recipients added and deleted, a new sender, a quarantine note and header.
//
// Header indexes are the milter's: it saw our Received field and the headers plugins added
// (prefix fields) before the message's own block, so a change or insertion that falls among
// them edits added_headers, and the rest becomes a proto::HeaderEdit on the client's block.
// Only actions the filter negotiated are applied; others are logged and dropped, as Postfix
// does. Pure transaction edits: no I/O (the replaced body is already a spool).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/io/log.hpp"
#include "core/proto/milter_packet.hpp"
#include "hooks/transaction.hpp"

namespace asmtpd::plugins::milter {

struct EditPolicy {
    std::uint32_t actions = 0;        // negotiated SMFIF_* flags
    bool leading_space = false;       // SMFIP_HDR_LEADSPC: values keep their leading space
    std::string milter;               // the plugin instance, for the log and the quarantine header
};

// Applies changes in order; returns how many were applied.
std::size_t apply_changes(hooks::Transaction& t, const std::vector<proto::milter::Reply>& changes,
                          const EditPolicy& policy, const io::Log& log);

}  // namespace asmtpd::plugins::milter
