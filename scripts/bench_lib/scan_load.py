# scan_load.py - load (l)'s servers (issue 13): 10 KB messages, a connection per message, 50
# sessions, through content scanning on the SAME two daemons: asmtpd with `spamassassin` and
# `virus/clamdscan` against Haraka 3.3.4 with its spamassassin and clamd plugins.
#
# The daemons are started once per load by ScanDaemons, as the e2e tests start them
# (t/e2e/scan_support.py): one spamd (Debian's rules, a private site config, --local: no network
# tests, no user preferences; SPAMD_CHILDREN preforked children) and one clamd (a database of
# one test signature written there, no freshclam), both on 127.0.0.1, stopped by their pids when
# the load ends. Both servers ask spamd "HEADERS SPAMC/1.x" and clamd zINSTREAM for every
# message, one after the other in data_post, and defer (4xx) when a daemon fails, so a broken
# daemon shows as failed runs, never as a fast number. Each run also reports the daemons' CPU
# (spamd's process tree and clamd) next to the server's own (`side_pids`).
#   asmtpd-scan   spamassassin spamd_socket 127.0.0.1:S reject 20 on_error defer,
#                 virus/clamdscan clamd_socket 127.0.0.1:C defer_on_error yes, rcpt_ok, queue/discard
#   haraka-scan   spamassassin (spamd_socket, reject_threshold=20, [defer] on errors and timeouts),
#                 clamd (clamd_socket; rejects errors with DENYSOFT by default), peer_sink; nodes=0
# Owner: tooling (scripts/bench_lib/).
import os
import shutil
import sys

import procs
import servers as S

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "t", "e2e"))
import scan_support  # noqa: E402

SPAMD_CHILDREN = 2     # the machine's cores; spamd is the bottleneck of this load
REJECT = 20            # far above what smtp-source's filler scores: every message passes
# spamd needs 0.3-1 s of CPU for smtp-source's 10 KB message on this machine, so with 50 sessions
# a message waits tens of seconds for a free child: both servers get the same long deadline.
TIMEOUT = 180


class ScanDaemons:
    """spamd and clamd for one load, shared by every server of it."""

    def __init__(self, logdir=None):
        self.logdir = logdir      # spamd's and clamd's logs are copied there when they stop
        self.spamd = self.clamd = None
        self.started = False

    def start(self):
        if self.started:
            return
        self.spamd = scan_support.Spamd(children=SPAMD_CHILDREN)
        self.clamd = scan_support.Clamd()
        try:
            self.spamd.start()
            self.clamd.start()
        except Exception:
            self.cleanup()
            raise
        self.started = True

    def pids(self):
        """spamd's process tree (parent and children) and clamd."""
        out = []
        for d in (self.spamd, self.clamd):
            if d is not None and d.proc is not None and d.proc.poll() is None:
                out += procs.tree(d.proc.pid)
        return out

    def cleanup(self):
        for name, d in (("spamd", self.spamd), ("clamd", self.clamd)):
            if d is None:
                continue
            d.stop()
            if self.logdir and d.log_path.exists():
                shutil.copyfile(d.log_path, os.path.join(self.logdir, f"{name}-l.log"))
            d.cleanup()
        self.spamd = self.clamd = None
        self.started = False

    def note(self):
        return f"the same spamd ({SPAMD_CHILDREN} children, --local) and clamd (1 test signature)"


class ScanAsmtpd(S.Asmtpd):
    def __init__(self, work, port, binary, daemons):
        super().__init__(work, port, binary, name="asmtpd-scan")
        self.daemons = daemons

    def prepare(self):
        super().prepare()
        self.daemons.start()
        lines = [f"spamassassin spamd_socket {self.daemons.spamd.hop} reject {REJECT} on_error defer timeout {TIMEOUT}",
                 f"virus/clamdscan clamd_socket {self.daemons.clamd.hop} defer_on_error yes timeout {TIMEOUT}",
                 "rcpt_ok", self.queue]
        with open(os.path.join(self.cfg, "plugins"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def side_pids(self):
        return self.daemons.pids()

    def note(self):
        return f"spamassassin + virus/clamdscan + rcpt_ok + queue/discard; {self.daemons.note()}"


class ScanHaraka(S.Haraka):
    msg_scale = 1.0      # the daemons set the pace: the same count as asmtpd

    def __init__(self, work, port, haraka_dir, daemons):
        super().__init__(work, port, haraka_dir, 0)
        self.name = "haraka-scan"
        self.srv = os.path.join(haraka_dir, f"srv-{self.name}")
        self.daemons = daemons

    def prepare(self):
        super().prepare()
        self.daemons.start()
        cfg = os.path.join(self.srv, "config")
        S._write(os.path.join(cfg, "plugins"), "spamassassin\nclamd\npeer_sink\n")
        S._write(os.path.join(cfg, "plugin_timeout"), f"{TIMEOUT}\n")
        S._write(os.path.join(cfg, "smtp.ini"), f"listen=127.0.0.1:{self.port}\nnodes=0\n"
                 f"inactivity_timeout={TIMEOUT + 60}\nforce_shutdown_timeout=5\n")
        S._write(os.path.join(cfg, "spamassassin.ini"),
                 f"; written by scripts/bench\nspamd_socket={self.daemons.spamd.hop}\nreject_threshold={REJECT}\n"
                 f"max_size=500000\nold_headers_action=keep\nresults_timeout={TIMEOUT}\n"
                 "[defer]\nerror=true\nconnect_timeout=true\nscan_timeout=true\n")
        S._write(os.path.join(cfg, "clamd.ini"),
                 f"; written by scripts/bench\nclamd_socket={self.daemons.clamd.hop}\ntimeout={TIMEOUT}\n"
                 "[reject]\nvirus=true\nerror=true\n")

    def side_pids(self):
        return self.daemons.pids()

    def note(self):
        return f"Haraka 3.3.4 nodes=0: spamassassin + clamd + peer_sink; {self.daemons.note()}"
