/* plugin_abi.h - asmtpd's native plugin ABI, version 1: the contract between asmtpd and a shared
 * object loaded with a `dso FILE.so` line in config/plugins (plugins/dso/dso.cpp is the host).
 *
 * Plain C99 on purpose: no C++ types, no exceptions and no ownership cross this boundary, so a
 * plugin may be written in C, C++, Rust or anything else that can export a C function. The host
 * never frees plugin memory and the plugin never frees host memory. Ownership: the host owns every
 * struct it passes in; the plugin owns its asmtpd_plugin_v1 answers (static strings) and `self`.
 * Must never: grow a field anywhere but at the end of a struct, or change a published field.
 *
 * ----------------------------------------------------------------------------------------------
 * 1. WRITING A PLUGIN
 *
 *   #include "asmtpd/plugin_abi.h"      (this file; copy it into your tree if you like)
 *
 *   static int on_rcpt(void *self, asmtpd_call *call, const asmtpd_session_info_v1 *s) {
 *       const asmtpd_host_api_v1 *host = self;               (saved by the entry function)
 *       if (strcmp(s->rcpt, "spamtrap@example.org") == 0) {
 *           host->set_reply(call, 550, "5.7.1", "no such user");
 *           return ASMTPD_REJECT;
 *       }
 *       return ASMTPD_CONTINUE;
 *   }
 *   ASMTPD_EXPORT int asmtpd_plugin_entry_v1(const asmtpd_host_api_v1 *host, asmtpd_plugin_v1 *out) {
 *       if (host->abi_major != ASMTPD_ABI_MAJOR) return -1;
 *       out->struct_size = sizeof *out;   (never more than the host offered, see 3.)
 *       out->abi_major = ASMTPD_ABI_MAJOR;
 *       out->abi_minor = ASMTPD_ABI_MINOR;
 *       out->name = "spamtrap";
 *       out->self = (void *)host;
 *       out->on_rcpt = on_rcpt;
 *       return 0;
 *   }
 *
 * Build with `cc -std=c99 -shared -fPIC -fvisibility=hidden -o spamtrap.so spamtrap.c` and load it
 * with the line `dso /path/to/spamtrap.so` in config/plugins. Several plugins: one `dso` line each
 * (`dso:2 other.so` for a second instance); they run in config/plugins order like every plugin.
 *
 * config/plugins syntax:  dso FILE [symbol NAME] [timeout SECS] [concurrency N] [-- ARGS...]
 *   FILE is resolved against the config directory when relative. ARGS (after a `--` word) reach
 *   the plugin as host->argv[1..]; argv[0] is FILE. `symbol` and `concurrency` are described
 *   below; `timeout` is the deadline of one pool call (default: asmtpd.yaml timeouts.plugin).
 *
 * ----------------------------------------------------------------------------------------------
 * 2. LOADING
 *
 * The host loads FILE once, at start-up (and again on a configuration reload), with
 * dlopen(RTLD_NOW | RTLD_LOCAL): an unresolved symbol is a start-up error, never a crash later.
 * It looks up `asmtpd_plugin_entry_v1` (or the name given with `symbol`), calls it once on the
 * loop thread, and checks the answer: a non-zero return, a different abi_major, a struct_size
 * smaller than version 1.0 of asmtpd_plugin_v1 or no hook at all make the `dso` line fail, and the
 * server does not start (`--check` lists the reason). The library is never dlclose()d while a
 * call may still be running in it; in practice it stays mapped until the process exits.
 *
 * IndiMail plugins (a `plugin_init` symbol returning a struct of mail_func / rcpt_func /
 * data_func, see indimail-mta's plugin_init(3)) load with the same `dso` line: the host tries
 * the native entry first, then `plugin_init`. They are not described here.
 *
 * ----------------------------------------------------------------------------------------------
 * 3. VERSIONING
 *
 * Every struct starts with { uint32_t struct_size; uint16_t abi_major, abi_minor; }.
 *   - abi_major changes only for an incompatible change; the host refuses a plugin whose major
 *     it does not know, and a plugin should refuse a host whose major it does not know.
 *   - abi_minor grows when fields are appended. A reader uses a field only when its end lies
 *     within the other side's struct_size (ASMTPD_HAS_FIELD below); missing fields read as
 *     zero/NULL. So an old plugin works with a new host and a new plugin with an old host.
 *   - asmtpd_plugin_v1 is written by the plugin into memory the host owns: the host zeroes it
 *     and sets out->struct_size to the bytes available (at least 1024); the plugin never writes
 *     past that, then sets out->struct_size to sizeof its own struct.
 *
 * ----------------------------------------------------------------------------------------------
 * 4. THREADS, BLOCKING AND DEADLINES (read this twice)
 *
 * asmtpd serves every session of a worker process from one event-loop thread. A hook that
 * blocks (DNS, a database, a sleep, a large read) on that thread stalls every session.
 *   - Plugin flags (out->flags):
 *       ASMTPD_PLUGIN_MAY_BLOCK    the hooks may block: they run on a worker thread of the
 *                                  server's thread pool, under a deadline (`timeout`).
 *       ASMTPD_PLUGIN_THREAD_SAFE  the hooks may run on several threads at once (up to
 *                                  `concurrency` calls, default 2). Without it, calls into the
 *                                  plugin are serialised: one at a time, in arrival order.
 *   - Without MAY_BLOCK, on_connect .. on_data_start run INLINE on the loop thread, with no
 *     deadline (a call cannot be pre-empted): they must return in microseconds and never block.
 *     This is the fast path for pure, in-memory checks.
 *   - on_data_end always runs on a pool thread (reading the body may touch the disk), with the
 *     deadline, whatever the flags.
 *   - A pool call that overruns its deadline is ABANDONED: the client gets a temporary failure
 *     (DENYSOFT, "plugin timeout"), and whatever the call later returns or set through the host
 *     API is thrown away. The thread stays with the plugin until the call returns. While every
 *     slot of a plugin is held by an abandoned call, new calls fail at once with DENYSOFT
 *     ("plugin busy") instead of waiting: a hung plugin costs its sessions one deadline, then
 *     nothing, and the plugin comes back by itself when its call finally returns.
 *   - A crash (SIGSEGV ...) in a plugin kills the worker process with every session in it.
 *     Keep plugins small; put risky work in an spp program (a separate process) instead.
 *   - Exceptions must never leave a hook (catch everything in C++). The host wraps each call as
 *     well and answers DENYSOFT if one escapes, but that is not guaranteed to work across
 *     every toolchain.
 *   - The plugin is a shared library in the server's process: it sees the server's process
 *     environment through getenv(), NOT the per-client one (use host->get_env for that), and it
 *     must not change signal dispositions, fork, exit or close descriptors it did not open.
 *   - The entry function runs before the server forks its worker processes: start no thread
 *     there (it would not exist in the workers); start it lazily from a hook if you must.
 *
 * ----------------------------------------------------------------------------------------------
 * 5. A HOOK CALL
 *
 *   int hook(void *self, asmtpd_call *call, const asmtpd_session_info_v1 *s);
 *
 *   self  out->self, untouched.
 *   call  the handle of THIS call, for the host API. Valid until the hook returns, on the
 *         thread that runs the hook; never keep it, never hand it to another thread.
 *   s     read-only facts about the session (below); every pointer in it is valid until the
 *         hook returns. Copy what you want to keep.
 *
 * Host API effects are collected while the hook runs and applied when it returns, on the loop
 * thread, in the order they were made (so they are never half-applied, and an abandoned call
 * changes nothing). A REJECT's reply comes from set_reply; prefix_reply lines go in front of
 * whatever reply the client gets next.
 *
 * Hooks (NULL: not called; a plugin needs at least one):
 *   on_connect      a client connected; before the greeting.
 *   on_helo         HELO or EHLO (s->helo is the new name).
 *   on_mail         MAIL FROM: the sender parsed (s->sender) but not yet accepted.
 *   on_rcpt         RCPT TO: s->rcpt parsed, not yet accepted.
 *   on_data_start   DATA, before the 354.
 *   on_data_end     after the final dot, before queueing: the whole message through `body`
 *                   (the Received line and added headers, then the content, CRLF line ends,
 *                   dot-unstuffed). A rejection means nothing is queued.
 *   on_auth         AUTH: the credentials were accepted by the auth plugins (s->auth_user is the
 *                   user, s->hook is "auth"), before 235. REJECT refuses the login (default
 *                   535 5.7.8) and the session stays unauthenticated (qmail-spp's [auth]).
 *   destroy         called once when the host is done with the plugin (configuration reload or
 *                   shutdown, never while a call is running in it); may be NULL.
 *
 * Verdicts (the hook's return value) mirror qmail-spp's commands:
 *   ASMTPD_CONTINUE         no opinion (spp: no output). Later plugins and built-in checks run.
 *   ASMTPD_ACCEPT_CMD       N: fine by this plugin; later plugins and built-in checks still run.
 *                           (With one plugin per `dso` line this equals CONTINUE; it exists so
 *                           a port of an spp program keeps its meaning.)
 *   ASMTPD_SKIP_BUILTIN     O: accept the command now; later plugins and built-in checks (such
 *                           as rcpthosts) are skipped. On RCPT this grants relaying: a security
 *                           decision.
 *   ASMTPD_REJECT           E: refuse the command with the reply from set_reply (4xx: temporary,
 *                           5xx: permanent); the session continues. Without set_reply the
 *                           hook's default refusal is sent ("550 5.7.1 Sender denied" ...).
 *                           On on_connect the reply replaces the greeting and the session goes
 *                           on; on on_data_start the transaction is kept (another RCPT or DATA
 *                           may follow), as in qmail.
 *   ASMTPD_REJECT_CLOSE     R: the same reply, then the connection is closed.
 *   ASMTPD_DROP             D: close the connection without any reply.
 *   ASMTPD_DISABLE_PLUGINS  A: CONTINUE, and no `dso` plugin runs for the rest of the
 *                           connection (this one included).
 * Any other value is a plugin bug: it is logged and the client gets a temporary failure.
 *
 * ----------------------------------------------------------------------------------------------
 * 6. THE HOST API (asmtpd_host_api_v1)
 *
 * Functions returning int give ASMTPD_OK (0) or a negative ASMTPD_E_* code; a refused call
 * changes nothing. Strings are NUL-terminated UTF-8 (or ASCII where SMTP needs it) and are
 * COPIED before the function returns: pass stack buffers freely.
 *   log(call, level, msg)       one log line tagged with the session id and the plugin instance,
 *                               written when the call returns (controls become spaces; at most
 *                               64 lines of 1 KiB per call). call may be NULL (entry, destroy):
 *                               then NOTICE and above go straight to stderr, the rest is dropped.
 *   set_reply(call, code, enhanced, text)
 *                               the reply for REJECT / REJECT_CLOSE; the last call wins. code is
 *                               400..599; enhanced is an RFC 3463 code whose class matches code
 *                               ("5.7.1"), "" for none, or NULL for the hook's default; text may
 *                               hold '\n' for a multi-line reply (at most 4 KiB). CR, NUL and
 *                               other controls are refused (E_INVAL); each line is sent as
 *                               "code text" (one reply, code on every line).
 *   prefix_reply(call, line)    a line in front of the next reply the client gets (qmail-spp's
 *                               P), e.g. a note before "250 ok". A leading "NNN-" or "NNN " is
 *                               dropped: the reply's own code frames it. At most 32 per call.
 *   add_header(call, name, value)
 *                               a header field for the message, placed after the server's
 *                               Received line (qmail-spp's H). Needs a transaction: on_mail and
 *                               later (E_STATE otherwise). name: printable ASCII without ':'
 *                               or space; value: no CR, LF or NUL; at most 998 bytes together.
 *   set_env(call, name, value)  sets (value != NULL) or removes (value == NULL) a variable of
 *                               the client's environment (tcp.env, what qmail-spp's S / U
 *                               change): later plugins and spp programs of this connection see
 *                               it. name: [A-Za-z_][A-Za-z0-9_]*; PATH and LD_* are refused
 *                               (E_DENIED). At most 4 KiB each.
 *   get_env(call, name)         the client environment's value as this call sees it (its own
 *                               set_env included), or NULL. The pointer is valid until the next
 *                               set_env of that name or the end of the call.
 *   change_address(call, addr)  on_mail / on_rcpt only (E_STATE elsewhere): store this address
 *                               instead of the one the client gave (qmail-spp's C), unless the
 *                               command is refused. "user@domain", with or without <>, "" is
 *                               the null sender (on_mail only); at most 900 bytes.
 *
 * ----------------------------------------------------------------------------------------------
 * 7. WHAT IS NOT HERE (yet): asynchronous hooks with a completion callback, access to the
 * recipients of other plugins' decisions, and anything that lets a plugin write to the client.
 */
#ifndef ASMTPD_PLUGIN_ABI_H
#define ASMTPD_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ASMTPD_ABI_MAJOR 1
#define ASMTPD_ABI_MINOR 0

/* The entry symbol a native plugin exports. */
#define ASMTPD_PLUGIN_ENTRY_V1 "asmtpd_plugin_entry_v1"

#if defined(__GNUC__)
#define ASMTPD_EXPORT __attribute__((visibility("default")))
#else
#define ASMTPD_EXPORT
#endif

/* True when the struct *p, whose struct_size the other side set, contains `field`. */
#define ASMTPD_HAS_FIELD(p, type, field) \
    ((p)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* Hook return values (section 5). */
enum {
    ASMTPD_CONTINUE = 0,
    ASMTPD_ACCEPT_CMD = 1,
    ASMTPD_SKIP_BUILTIN = 2,
    ASMTPD_REJECT = 3,
    ASMTPD_REJECT_CLOSE = 4,
    ASMTPD_DROP = 5,
    ASMTPD_DISABLE_PLUGINS = 6
};

/* Host API results. */
enum {
    ASMTPD_OK = 0,
    ASMTPD_E_INVAL = -1,   /* a malformed argument (syntax, controls, class mismatch) */
    ASMTPD_E_STATE = -2,   /* not possible in this hook */
    ASMTPD_E_LIMIT = -3,   /* too long, or too many of them */
    ASMTPD_E_DENIED = -4,  /* a protected name (PATH, LD_*) */
    ASMTPD_E_NOMEM = -5
};

/* Log levels (syslog numbers). */
enum {
    ASMTPD_LOG_ERROR = 3,
    ASMTPD_LOG_WARN = 4,
    ASMTPD_LOG_NOTICE = 5,
    ASMTPD_LOG_INFO = 6,
    ASMTPD_LOG_DEBUG = 7
};

/* asmtpd_plugin_v1.flags */
#define ASMTPD_PLUGIN_THREAD_SAFE 0x1u
#define ASMTPD_PLUGIN_MAY_BLOCK 0x2u

/* asmtpd_session_info_v1.flags */
#define ASMTPD_SESSION_RELAY 0x1u        /* the client may relay (RELAYCLIENT, AUTH ...) */
#define ASMTPD_SESSION_TLS 0x2u          /* the connection is encrypted */
#define ASMTPD_SESSION_AUTH 0x4u         /* the client authenticated (auth_user is set) */
#define ASMTPD_SESSION_ESMTP 0x8u        /* the client said EHLO */
#define ASMTPD_SESSION_RCPTHOSTS_OK 0x10u /* on_rcpt: the domain is local or the client may
                                            relay (qmail-spp's SMTPRCPTHOSTSOK) */

/* One hook call; opaque. */
typedef struct asmtpd_call asmtpd_call;

/* What a hook may know about its session. Strings are never NULL unless said so. */
typedef struct asmtpd_session_info_v1 {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;
    uint64_t session_id;           /* as printed in the log, %016llx */
    const char *hook;              /* "connect", "helo", "mail", "rcpt", "data", "data_post" */
    const char *remote_ip;         /* "192.0.2.1", "2001:db8::1" (no brackets) */
    uint16_t remote_port;
    const char *local_ip;
    uint16_t local_port;
    const char *remote_host;       /* reverse DNS name, "" when unknown */
    const char *helo;              /* the last HELO/EHLO argument, "" before any */
    const char *sender;            /* NULL outside a transaction (connect, helo); "" for the
                                      null sender <>; on_mail: the sender being tried */
    const char *rcpt;              /* on_rcpt: this recipient; NULL in every other hook */
    uint32_t rcpt_count;           /* recipients accepted so far in this transaction */
    uint32_t rcpt_count_all;       /* RCPTs that reached this plugin in this transaction, this
                                      one included (qmail-spp's SMTPRCPTCOUNTALL) */
    uint32_t flags;                /* ASMTPD_SESSION_* */
    const char *auth_user;         /* "" when not authenticated */
    const char *auth_method;       /* "PLAIN", "LOGIN", "CRAM-MD5" or "" */
    const char *server_name;       /* this server's host name ("me") */
    const char *const *recipients; /* the accepted recipients, rcpt_count of them */
    uint64_t message_size;         /* on_data_end: bytes the body reader yields; else 0 */
} asmtpd_session_info_v1;

/* on_data_end's view of the message. read() is safe only on the thread running the hook and
   only during it; it returns the bytes copied (0 at or past the end) or -1 on an I/O error. */
typedef struct asmtpd_body_reader_v1 {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;
    uint64_t size;
    int64_t (*read)(const struct asmtpd_body_reader_v1 *reader, uint64_t offset, char *buf, size_t len);
    void *host_data;               /* the host's; do not touch */
} asmtpd_body_reader_v1;

typedef struct asmtpd_host_api_v1 {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;
    /* Valid during the entry call only: the plugin's argv (argv[0] = FILE) and facts. */
    int argc;
    const char *const *argv;
    const char *config_dir;
    const char *server_name;
    /* Section 6. Safe from any thread that runs a hook of this plugin, for its own call. */
    void (*log)(asmtpd_call *call, int level, const char *msg);
    int (*set_reply)(asmtpd_call *call, int code, const char *enhanced, const char *text);
    int (*prefix_reply)(asmtpd_call *call, const char *line);
    int (*add_header)(asmtpd_call *call, const char *name, const char *value);
    int (*set_env)(asmtpd_call *call, const char *name, const char *value);
    const char *(*get_env)(asmtpd_call *call, const char *name);
    int (*change_address)(asmtpd_call *call, const char *address);
} asmtpd_host_api_v1;

typedef int (*asmtpd_hook_fn_v1)(void *self, asmtpd_call *call, const asmtpd_session_info_v1 *s);

typedef struct asmtpd_plugin_v1 {
    uint32_t struct_size;          /* set by the plugin: sizeof its asmtpd_plugin_v1 */
    uint16_t abi_major, abi_minor; /* set by the plugin: ASMTPD_ABI_MAJOR / _MINOR */
    const char *name;              /* for logs; static storage; may be NULL */
    uint32_t flags;                /* ASMTPD_PLUGIN_* */
    void *self;                    /* handed back to every hook and to destroy */
    asmtpd_hook_fn_v1 on_connect;
    asmtpd_hook_fn_v1 on_helo;
    asmtpd_hook_fn_v1 on_mail;
    asmtpd_hook_fn_v1 on_rcpt;
    asmtpd_hook_fn_v1 on_data_start;
    int (*on_data_end)(void *self, asmtpd_call *call, const asmtpd_session_info_v1 *s,
                       const asmtpd_body_reader_v1 *body);
    asmtpd_hook_fn_v1 on_auth;     /* after accepted credentials, see section 5 */
    void (*destroy)(void *self);
} asmtpd_plugin_v1;

/* The entry point: fill *out, return 0; anything else refuses the load. Called once per `dso`
   line on the loop thread; host stays valid (and its function pointers callable) until destroy
   has returned, except argv/argc/config_dir/server_name (entry call only). */
typedef int (*asmtpd_plugin_entry_v1_fn)(const asmtpd_host_api_v1 *host, asmtpd_plugin_v1 *out);

#ifdef __cplusplus
}
#endif

#endif /* ASMTPD_PLUGIN_ABI_H */
