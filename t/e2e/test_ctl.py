"""test_ctl.py - asmtpd-ctl over the control socket (issue 15), against the real daemon with
`workers: 2`: status counts a live session and lists both workers' pids, reload raises the
configuration generation (a broken asmtpd.yaml is reported with its file:line and the old
configuration keeps serving), plugins shows per-plugin calls and verdicts after a message,
only root and the socket's group may connect, and drain stops the daemon like SIGTERM: the
open session finishes, new ones are refused, the daemon exits 0 and removes the socket.

One daemon for the status/reload/plugins/permission tests, one more for drain.
asmtpd-ctl is the binary next to $ASMTPD_BIN. Owner: tooling (t/e2e/).
"""

import json
import os
import socket
import stat
import subprocess
import time
import unittest
from pathlib import Path

from harness import BIN, RUN_AS_ROOT, Client, Daemon

CTL = str(Path(BIN).parent / "asmtpd-ctl")
NOBODY = 65534      # uid nobody, gid nogroup (Debian)


def start(group=None):
    d = Daemon(settings={"workers": 2})
    d.socket = str(d.tmp / "run" / "control")
    d.settings["control"] = {"socket": d.socket, "mode": "0660", **({"group": group} if group else {})}
    d.write_config()
    d.start()
    return d


def ctl(d, *args, user=None):
    """(exit code, stdout, stderr) of asmtpd-ctl against d's socket."""
    extra = {"user": user, "group": user, "extra_groups": []} if user is not None else {}
    p = subprocess.run([CTL, "-s", d.socket, *args], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"), **extra)
    return p.returncode, p.stdout, p.stderr


def ctl_json(d, verb):
    rc, out, err = ctl(d, "--json", verb)
    return rc, json.loads(out) if out.strip() else None, err


def wait_for(fn, what, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert got, what
    return got


class CtlTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # The socket's group is nogroup, so nobody:nogroup may use it and nobody:other may not.
        cls.d = start(group=str(NOBODY) if RUN_AS_ROOT else None)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        try:
            cls.d.check_clean_exit()
        finally:
            cls.d.cleanup()

    def status(self):
        rc, body, err = ctl_json(self.d, "status")
        self.assertEqual(rc, 0, err)
        return body

    def test_status_counts_a_live_session(self):
        c = Client(self.d.port)
        try:
            c.ehlo()
            body = wait_for(lambda: (lambda b: b if b["sessions"] == 1 else None)(self.status()),
                            "status never counted the open session")
            self.assertEqual(body["pid"], self.d.proc.pid)
            self.assertFalse(body["draining"])
            self.assertGreaterEqual(body["uptime"], 0)
            pids = [w["pid"] for w in body["workers"]]
            self.assertEqual(len(pids), 2)
            for pid in pids:   # live children of the supervisor
                ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                self.assertEqual(ppid, self.d.proc.pid)
            self.assertEqual(sum(w["sessions"] for w in body["workers"]), 1)
            rc, out, err = ctl(self.d, "status")
            self.assertEqual(rc, 0, err)
            self.assertIn("sessions: 1\n", out)
            self.assertIn(f"pid {pids[0]}", out)
            p = subprocess.run([CTL, "-c", str(self.d.config_dir), "status"], capture_output=True, text=True,
                               timeout=10)   # the socket named by asmtpd.yaml
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("sessions: 1\n", p.stdout)
        finally:
            c.cmd("QUIT", 221)
            c.close()
        wait_for(lambda: self.status()["sessions"] == 0, "the closed session is still counted")

    def test_reload_raises_generation_and_a_broken_config_keeps_the_old(self):
        before = self.status()["generation"]
        rc, out, err = ctl(self.d, "reload")
        self.assertEqual(rc, 0, err)
        self.assertIn(f"generation {before + 1} (2 workers)", out)
        self.assertEqual(self.status()["generation"], before + 1)

        yaml = self.d.config_dir / "asmtpd.yaml"
        good = yaml.read_text()
        lines = good.count("\n")
        yaml.write_text(good + "no_such_key: 1\n")
        try:
            rc, body, err = ctl_json(self.d, "reload")
            self.assertEqual(rc, 1, body)
            self.assertFalse(body["ok"])
            self.assertIn("keeping the running configuration", body["error"])
            self.assertTrue(any(f"asmtpd.yaml:{lines + 1}: no_such_key: unknown key" in e for e in body["errors"]), body)
            rc, out, err = ctl(self.d, "reload")
            self.assertEqual(rc, 1)
            self.assertIn(f"asmtpd.yaml:{lines + 1}: no_such_key", err)
        finally:
            yaml.write_text(good)
        self.assertEqual(self.status()["generation"], before + 1)
        c = Client(self.d.port)   # the old configuration still serves
        c.ehlo()
        c.send_mail()
        c.cmd("QUIT", 221)
        c.close()

    def test_plugins_counts_after_a_message(self):
        def counts():
            rc, body, err = ctl_json(self.d, "plugins")
            self.assertEqual(rc, 0, err)
            return body["plugins"]
        before = {p["name"]: p for p in counts()}
        c = Client(self.d.port)
        c.ehlo()
        c.send_mail(rcpts=("a@example.test", "b@example.test"))
        c.cmd("QUIT", 221)
        c.close()
        after = counts()
        self.assertEqual([p["name"] for p in after], ["rcpt_ok", "queue/maildir"])
        a = {p["name"]: p for p in after}
        rcpt_ok = a["rcpt_ok"]
        self.assertEqual(rcpt_ok["calls"] - before["rcpt_ok"]["calls"], 2)
        self.assertEqual(rcpt_ok["verdicts"]["ok"] - before["rcpt_ok"]["verdicts"].get("ok", 0), 2)
        self.assertEqual(rcpt_ok["hooks"]["rcpt"] - before["rcpt_ok"]["hooks"].get("rcpt", 0), 2)
        q = a["queue/maildir"]
        self.assertEqual(q["verdicts"]["ok"] - before["queue/maildir"]["verdicts"].get("ok", 0), 1)
        rc, out, err = ctl(self.d, "plugins")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^rcpt_ok +\d+  ok \d+")

    def test_permissions(self):
        st = os.stat(self.d.socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_uid, os.geteuid())
        rc, out, err = ctl(self.d, "nonsense")
        self.assertEqual(rc, 2)
        rc, out, err = subprocess.run([CTL, "-s", str(self.d.tmp / "nothing"), "status"], capture_output=True,
                                      text=True, timeout=10).returncode, "", ""
        self.assertEqual(rc, 2)
        if not RUN_AS_ROOT:
            self.skipTest("the user checks need root")
        self.assertEqual(st.st_gid, NOBODY)
        os.chmod(self.d.tmp, 0o711)   # others may reach the socket's path, not list the directory
        rc, out, err = ctl(self.d, "status", user=NOBODY)   # nobody:nogroup, the socket's group
        self.assertEqual(rc, 0, err)
        p = subprocess.run([CTL, "-s", self.d.socket, "status"], capture_output=True, text=True, timeout=10,
                           user=NOBODY, group=1, extra_groups=[], env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn("Permission denied", p.stderr)


    def test_a_second_daemon_leaves_a_live_socket_alone(self):
        other = Daemon(settings={"control": {"socket": self.d.socket}})
        try:
            other.start(wait=False)
            self.assertEqual(other.wait(20), 1, other.stderr_tail())
            self.assertIn(f"asmtpd: control: {self.d.socket}: another process (an asmtpd still running?) answers on it",
                          other.stderr_text())
        finally:
            other.stop()
            other.cleanup()
        self.assertEqual(ctl(self.d, "status")[0], 0)


class DrainTest(unittest.TestCase):

    def test_drain_stops_gracefully(self):
        d = start()
        try:
            c = Client(d.port)
            c.ehlo()
            rc, body, err = ctl_json(d, "drain")
            self.assertEqual(rc, 0, err)
            self.assertEqual(body["command"], "drain")
            self.assertFalse(body["already"])
            rc, body, err = ctl_json(d, "status")   # the supervisor still answers while draining
            self.assertEqual(rc, 0, err)
            self.assertTrue(body["draining"])
            rc, body, err = ctl_json(d, "reload")
            self.assertEqual(rc, 1)
            self.assertIn("draining", body["error"])

            def refused():
                try:
                    socket.create_connection(("127.0.0.1", d.port), timeout=1).close()
                    return False
                except ConnectionRefusedError:
                    return True
            wait_for(refused, "new connections are still accepted while draining")
            c.send_mail()          # the open session finishes its message
            c.cmd("QUIT", 221)
            c.close()
            self.assertEqual(d.wait(10), 0, d.stderr_tail())
            self.assertFalse(os.path.exists(d.socket))
            self.assertEqual(d.maildir.count(), 1)
            d.check_clean_exit()
        finally:
            d.stop()
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
