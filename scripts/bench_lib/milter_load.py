# milter_load.py - load (k)'s server (issue 13): asmtpd with the `milter` plugin in front of a
# persistent milter that accepts everything (milter_accept.c: protocol 6, epoll, one thread;
# it asks for every step with no reply, so only the end of message is answered), 1 KB
# messages, a connection per message, 50 sessions: load (b) with one milter connection, option
# negotiation, the whole message and QUIT per SMTP session. The milter is built here (cc -O2)
# and started and stopped with asmtpd, by its pid. The load also measures plain asmtpd (load
# (b)'s configuration) in the same run, so the ratio compares like with like.
#   asmtpd-milter   milter socket inet:PORT@127.0.0.1 default_action tempfail, rcpt_ok,
#                   queue/discard (a milter that fails shows as failed messages, never as speed)
#   asmtpd-milter-reuse   the same with `reuse 64`: milter connections parked between SMTP
#                   sessions (QUIT_NC), so a session costs no connect and no option negotiation
# Owner: tooling (scripts/bench_lib/).
import os
import signal
import socket
import subprocess
import time

import servers as S

HERE = os.path.dirname(os.path.abspath(__file__))


class MilterAsmtpd(S.Asmtpd):
    def __init__(self, work, port, binary, milter_port, reuse=0):
        super().__init__(work, port, binary, name="asmtpd-milter-reuse" if reuse else "asmtpd-milter")
        self.milter_port = milter_port
        self.reuse = reuse
        self.milter = None
        self.milter_bin = os.path.join(work, "milter_accept")

    def prepare(self):
        super().prepare()
        src = os.path.join(HERE, "milter_accept.c")
        if not os.path.exists(self.milter_bin) or os.path.getmtime(src) > os.path.getmtime(self.milter_bin):
            subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", self.milter_bin, src], check=True, timeout=120)
        line = f"milter socket inet:{self.milter_port}@127.0.0.1 default_action tempfail"
        if self.reuse:
            line += f" reuse {self.reuse}"
        with open(os.path.join(self.cfg, "plugins"), "w") as f:
            f.write("\n".join([line, "rcpt_ok", self.queue]) + "\n")

    def start(self, log_path, ready_timeout=60):
        log = open(log_path[:-4] + "-milter.log" if log_path.endswith(".log") else log_path + "-milter", "ab")
        self.milter = subprocess.Popen([self.milter_bin, str(self.milter_port)], stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.milter_port), timeout=1).close()
                break
            except OSError:
                if self.milter.poll() is not None or time.monotonic() > deadline:
                    self._stop_milter()
                    raise RuntimeError("milter_accept did not start")
                time.sleep(0.05)
        try:
            super().start(log_path, ready_timeout)
        except Exception:
            self._stop_milter()
            raise

    def _stop_milter(self):
        if self.milter and self.milter.poll() is None:
            os.kill(self.milter.pid, signal.SIGTERM)
            self.milter.wait(10)
        self.milter = None

    def stop(self, timeout=20):
        try:
            super().stop(timeout)
        finally:
            self._stop_milter()

    def note(self):
        reuse = f", reuse {self.reuse}" if self.reuse else ""
        return f"milter (milter_accept.c on port {self.milter_port}, accept all{reuse}) + rcpt_ok + queue/discard"
