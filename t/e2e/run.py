#!/usr/bin/env python3
"""run.py - run the end-to-end suite and print "E2E: N passed, N failed".

  t/e2e/run.py                       every t/e2e/test_*.py
  t/e2e/run.py test_data             one module
  t/e2e/run.py test_data.DataTest.test_empty_message
The daemon is $ASMTPD_BIN (default build/asmtpd). A subTest failure counts once for its test.
Interrupting the run kills every daemon it started (by pid). Owner: tooling (t/e2e/).
"""

import os
import signal
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402


def main(argv):
    if not os.access(harness.BIN, os.X_OK):
        print(f"e2e: {harness.BIN} is not an executable (set ASMTPD_BIN or build first)", file=sys.stderr)
        print("E2E: 0 passed, 1 failed")
        return 1

    def on_term(signum, frame):
        harness._kill_live()
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)

    loader = unittest.TestLoader()
    if argv:
        suite = loader.loadTestsFromNames(argv)
    else:
        suite = loader.discover(str(HERE), pattern="test_*.py", top_level_dir=str(HERE))

    t0 = time.monotonic()
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout, buffer=False).run(suite)
    failed_ids = {t.id() for t, _ in result.failures + result.errors}
    failed_ids |= {t.id() for t in result.unexpectedSuccesses}
    # A failing subTest is reported per subtest; count the test it belongs to once.
    failed_ids = {i.split(" ", 1)[0] for i in failed_ids}
    failed = len(failed_ids)
    skipped = len(result.skipped)
    passed = max(0, result.testsRun - failed - skipped)
    print(f"e2e: {result.testsRun} tests in {time.monotonic() - t0:.1f}s, {skipped} skipped")
    print(f"E2E: {passed} passed, {failed} failed")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
