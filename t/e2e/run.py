#!/usr/bin/env python3
"""run.py - run the end-to-end suite and print "E2E: N passed, N failed".

  t/e2e/run.py                       every t/e2e/test_*.py, modules in parallel (-j, default 2)
  t/e2e/run.py -j 1                  one module after the other
  t/e2e/run.py test_data             one module (in this process)
  t/e2e/run.py test_data.DataTest.test_empty_message
The daemon is $ASMTPD_BIN (default build/asmtpd). A test whose subTests fail counts once.
Each module runs in its own process whose output is printed whole when it ends; interrupting
the run kills every child and every daemon it started (by pid). Owner: tooling (t/e2e/).
"""

import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402

SUMMARY = re.compile(r"^E2E: (\d+) passed, (\d+) failed$", re.M)
# Modules that spend the most time waiting go first, so two workers finish together.
SLOW_FIRST = ["test_debian_package", "test_dkim_sign", "test_milter", "test_scale_out", "test_smtp_forward", "test_lmtp_dovecot", "test_tls", "test_spp", "test_proxy", "test_spp_limits",
              "test_auth", "test_smuggling", "test_spp_config", "test_signals", "test_limits",
              "test_pipelining", "test_qmail_queue", "test_data", "test_basic"]

_children = set()
_lock = threading.Lock()


def run_here(names):
    """Runs tests in this process; returns (passed, failed)."""
    loader = unittest.TestLoader()
    if names:
        suite = loader.loadTestsFromNames(names)
    else:
        suite = loader.discover(str(HERE), pattern="test_*.py", top_level_dir=str(HERE))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, buffer=False).run(suite)
    failed_ids = {t.id() for t, _ in result.failures + result.errors}
    failed_ids |= {t.id() for t in result.unexpectedSuccesses}
    # A failing subTest is reported per subtest; count the test it belongs to once.
    failed_ids = {i.split(" ", 1)[0] for i in failed_ids}
    failed = len(failed_ids)
    passed = max(0, result.testsRun - failed - len(result.skipped))
    if result.testsRun == 0:
        failed += 1
        print("e2e: no test ran", file=sys.stderr)
    return passed, failed


def run_module(module):
    """Runs one module in a child process; returns (module, output, passed, failed, seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, str(HERE / "run.py"), module], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(HERE))
    with _lock:
        _children.add(p)
    out, _ = p.communicate()
    with _lock:
        _children.discard(p)
    text = out.decode(errors="replace")
    m = SUMMARY.findall(text)
    if m:
        passed, failed = int(m[-1][0]), int(m[-1][1])
    else:
        passed, failed = 0, 1
        text += f"\ne2e: {module} ended (exit {p.returncode}) without a summary\n"
    return module, text, passed, failed, time.monotonic() - t0


def main(argv):
    jobs = int(os.environ.get("ASMTPD_E2E_JOBS", "2"))
    if len(argv) >= 2 and argv[0] == "-j":
        jobs = int(argv[1])
        argv = argv[2:]

    if not os.access(harness.BIN, os.X_OK):
        print(f"e2e: {harness.BIN} is not an executable (set ASMTPD_BIN or build first)", file=sys.stderr)
        print("E2E: 0 passed, 1 failed")
        return 1

    def on_term(signum, frame):
        with _lock:
            for p in list(_children):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
        harness._kill_live()
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    t0 = time.monotonic()
    if argv or jobs <= 1:
        passed, failed = run_here(argv)
    else:
        found = sorted(p.stem for p in HERE.glob("test_*.py"))
        modules = [m for m in SLOW_FIRST if m in found] + [m for m in found if m not in SLOW_FIRST]
        passed = failed = 0
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for fut in concurrent.futures.as_completed([pool.submit(run_module, m) for m in modules]):
                module, text, p, f, secs = fut.result()
                sys.stdout.write(f"\n======== {module}: {p} passed, {f} failed ({secs:.1f}s)\n{text}")
                sys.stdout.flush()
                passed += p
                failed += f
    print(f"e2e: finished in {time.monotonic() - t0:.1f}s")
    print(f"E2E: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
