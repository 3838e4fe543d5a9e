#!/usr/bin/env python3
# callgrind.py - instructions per message: a regression number that a noisy, shared machine
# cannot blur.
#
# asmtpd runs twice under valgrind --tool=callgrind on the bench config (rcpt_ok +
# queue/discard): once for WARM messages, once for WARM+N, both 1 KB, one connection per
# message, one session. Ir/msg = (Ir(WARM+N) - Ir(WARM)) / N, so start-up, config parsing and
# shutdown cancel out. The top functions (self Ir) of the larger run are printed as evidence.
# asmtpd is stopped by its pid (SIGTERM) so callgrind writes its profile. Owner: tooling.
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import loads as L      # noqa: E402
import servers as S    # noqa: E402


class Callgrinded(S.Asmtpd):
    def __init__(self, work, port, binary, out):
        super().__init__(work, port, binary, name="asmtpd-callgrind")
        self.out = out

    def argv(self):
        return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out}", "--dump-instr=no",
                self.binary, "--config", self.cfg]


def total_ir(path):
    with open(path) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise RuntimeError(f"no totals in {path}")


def one(work, port, binary, msgs, tag):
    out = os.path.join(work, f"callgrind.{tag}.out")
    if os.path.exists(out):
        os.unlink(out)
    srv = Callgrinded(work, port, binary, out)
    srv.prepare()
    srv.start(os.path.join(work, "logs", f"callgrind-{tag}.log"), ready_timeout=120)
    try:
        r = L.run_smtp(srv, msgs, 1024, 1, False, timeout=600)
    finally:
        srv.stop(timeout=60)
    if not r["ok"]:
        raise RuntimeError(f"smtp-source failed under callgrind: {r['client_output'][-300:]}")
    for _ in range(50):      # callgrind writes the file as the process exits
        if os.path.exists(out) and os.path.getsize(out) > 0:
            break
        time.sleep(0.1)
    return total_ir(out), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--asmtpd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--msgs", type=int, default=200)
    ap.add_argument("--warm", type=int, default=20)
    ap.add_argument("--port", type=int, default=25720)
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.work, "logs"), exist_ok=True)
    t0 = time.monotonic()
    ir_warm, _ = one(a.work, a.port, a.asmtpd, a.warm, "warm")
    ir_full, path = one(a.work, a.port, a.asmtpd, a.warm + a.msgs, "full")
    per_msg = (ir_full - ir_warm) / a.msgs
    print(f"callgrind: Ir({a.warm} msgs) = {ir_warm:,}  Ir({a.warm + a.msgs} msgs) = {ir_full:,}")
    print(f"callgrind: {per_msg:,.0f} instructions per message "
          f"(1 KB, connection per message, rcpt_ok + queue/discard; {time.monotonic() - t0:.0f} s)")
    ann = subprocess.run(["callgrind_annotate", "--inclusive=no", path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    lines = [ln for ln in ann.stdout.splitlines() if re.match(r"\s*[\d,]+ \(\s*[\d.]+%\)\s", ln)]
    with open(os.path.join(a.work, "callgrind.txt"), "w") as f:
        f.write(ann.stdout)
    print(f"top {a.top} functions by self Ir, whole {a.warm + a.msgs}-message run "
          f"(full listing: {os.path.join(a.work, 'callgrind.txt')}):")
    for ln in lines[1:a.top + 1]:      # the first matching line is the program total
        print("  " + ln.strip()[:150])
    with open(os.path.join(a.work, "callgrind.json"), "w") as f:
        f.write(f'{{"ir_per_msg": {per_msg:.0f}, "ir_warm": {ir_warm}, "ir_full": {ir_full}, '
                f'"warm": {a.warm}, "msgs": {a.msgs}}}\n')
    return 0


if __name__ == "__main__":
    sys.exit(main())
