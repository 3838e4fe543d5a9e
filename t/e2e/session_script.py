"""session_script.py - run one scripted SMTP session and record the class of every reply.

A script is a list of steps, run in order on one connection after the greeting:
  Cmd(line)          one command line (CRLF added unless the line is bytes ending in b"\\n" or
                     the step says raw), one reply
  Pipe(lines)        the lines in one write (RFC 2920), one reply each
  Data(body)         DATA; the body and the final dot are sent only after a 354, then one reply
  Raw(data, label)   bytes sent as they are, one reply
Each reply is recorded as (label, outcome): outcome is the reply class "2".."5", "closed" when
the server closed the connection instead of replying, "-" for a step not sent because an earlier
reply made it pointless (a body after a DATA refused), "timeout" when no reply came in time.
After "closed" every later step is "closed" too. run_all() runs many scripts in parallel, compare()
pairs two runs' outcomes up, unexpected() checks the differences against a listed set.
Owner: e2e tests of issue 16 (t/e2e/).
"""

import concurrent.futures
import socket

from smtp_client import Client, ConnectionClosed


class Cmd:
    def __init__(self, line, label=None):
        self.line = line.encode() if isinstance(line, str) else line
        self.label = label or _label(self.line)

    def lines(self):
        return [self.line if self.line.endswith(b"\n") else self.line + b"\r\n"]


class Pipe:
    def __init__(self, *lines):
        self.cmds = [Cmd(x) for x in lines]
        self.label = "|".join(c.label for c in self.cmds)


class Data:
    def __init__(self, body, label="DATA"):
        self.body = body
        self.label = label


class Raw:
    def __init__(self, data, label):
        self.data = data
        self.label = label


def _label(line):
    """A short name for a command in reports: the verb and up to 40 bytes of the rest."""
    text = line.rstrip(b"\r\n").decode("utf-8", errors="replace")
    return text if len(text) <= 48 else text[:40] + f"...({len(text)})"


def _outcome(r):
    return str(r.code)[0]


def run_script(port, steps, timeout=5.0):
    """Runs the steps on a new connection to 127.0.0.1:port. Returns (outcomes, transcript):
    outcomes is [(label, "2"|"3"|"4"|"5"|"closed"|"timeout"|"-")] starting with the greeting."""
    out = []
    c = Client(port, timeout=timeout, greet=False)
    closed = False

    def read(label):
        nonlocal closed
        if closed:
            out.append((label, "closed"))
            return None
        try:
            r = c.read_reply()
        except ConnectionClosed:
            closed = True
            out.append((label, "closed"))
            return None
        except AssertionError as e:
            if "timed out" in str(e):
                closed = True          # nothing after a lost reply can be paired up
                out.append((label, "timeout"))
                return None
            raise
        out.append((label, _outcome(r)))
        return r

    def send(data):
        nonlocal closed
        if closed:
            return
        try:
            c.send(data)
        except OSError:
            closed = True

    try:
        read("greeting")
        for step in steps:
            if isinstance(step, Cmd):
                send(step.lines()[0])
                read(step.label)
            elif isinstance(step, Pipe):
                send(b"".join(cmd.lines()[0] for cmd in step.cmds))
                for cmd in step.cmds:
                    r = read(cmd.label)
                    if r is not None and r.code == 354:
                        raise ValueError("a Pipe must not contain DATA (use Data after it)")
            elif isinstance(step, Data):
                send(b"DATA\r\n")
                r = read(step.label)
                if r is not None and r.code == 354:
                    send(step.body + b".\r\n")
                    read(step.label + " <dot>")
                else:
                    out.append((step.label + " <dot>", "closed" if closed else "-"))
            elif isinstance(step, Raw):
                send(step.data)
                read(step.label)
            else:
                raise TypeError(step)
    except socket.timeout:
        out.append(("?", "timeout"))
    finally:
        transcript = c.dump()
        c.close()
    return out, transcript


def pipelined(steps):
    """The same steps with the leading run of commands (MAIL, RCPT..., RSET) in one write."""
    n = 0
    while n < len(steps) and isinstance(steps[n], Cmd):
        n += 1
    assert n >= 2, "nothing to pipeline"
    return [Pipe(*[c.line for c in steps[:n]])] + list(steps[n:])


def run_all(port, scripts, parallel):
    """run_script for every (name, steps), `parallel` sessions at a time; results in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda s: run_script(port, s[1]), scripts))


def compare(a, p):
    """[(index, label, outcome a, outcome p)] where two runs of one script differ."""
    diffs = []
    for i in range(max(len(a), len(p))):
        la, oa = a[i] if i < len(a) else ("?", "missing")
        lp, op = p[i] if i < len(p) else ("?", "missing")
        if oa != op:
            diffs.append((i, la if la != "?" else lp, oa, op))
    return diffs


def unexpected(known, diffs):
    """The differences (label, a, p) of one session beyond `known`, its listed (reason, [(label,
    a, p)...]) or None: all of them unless they are exactly the listed ones ("*" matches any label)."""
    got = [(label, a, p) for _, label, a, p in diffs]
    if known is None:
        return got
    want = known[1]
    same = len(got) == len(want) and all((w[0] == "*" or w[0] == g[0]) and w[1:] == g[1:]
                                         for g, w in zip(got, want))
    return [] if same else got
