#!/usr/bin/env python3
"""Runs a command as a child subreaper and stops whatever it leaves running.

    tools/reap-run.py -- npx ava ...

test/run-all.sh runs the test tiers through it. This process becomes the child subreaper of
everything the command starts (prctl PR_SET_CHILD_SUBREAPER): a guest agent, engine or all-in-one
that a test started detached, or left behind when its test file crashed, is re-parented here and
not to init, so once the command has exited its remaining descendants are exactly the processes
the tests left behind. Nothing else is ever counted or signalled: the machine's own MariaDB,
PostgreSQL, Redis, RabbitMQ, the lab's services, other runs' processes are not descendants.

After a moment for helpers that exit with their parent (TROVE_REAP_SETTLE_MS, 2000), it prints
each one left (pid and command), sends them SIGTERM, SIGKILL after the grace period
(TROVE_REAP_GRACE_MS, 10000), then the count line

    processes left behind by the tests: N

and exits with the command's exit code, or 1 when the command succeeded but left processes.
SIGINT and SIGTERM received meanwhile are passed on to the command.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def children_map():
    """ppid -> [pid] over every process visible in /proc."""
    kids = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat', 'rb') as f:
                stat = f.read().decode('utf-8', 'replace')
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
        fields = stat[stat.rfind(')') + 2:].split()
        if len(fields) < 2 or fields[0] == 'Z':
            continue  # a zombie is already dead: reaped below, not counted
        kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def descendants(root):
    kids = children_map()
    out, todo = [], list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def command_of(pid):
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            text = f.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
    except OSError:
        return '(gone)'
    return (text[:157] + '...') if len(text) > 160 else (text or '(no command line)')


def reap_zombies():
    """Collects every exited child (orphans re-parented here included), without blocking."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def main(argv):
    if argv[:1] == ['--']:
        argv = argv[1:]
    if not argv:
        print('usage: reap-run.py -- COMMAND [ARG...]', file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f'reap-run.py: prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}', file=sys.stderr)
        return 2
    grace = int(os.environ.get('TROVE_REAP_GRACE_MS', '10000')) / 1000
    child = subprocess.Popen(argv)
    def forward(sig, _frame):
        try:
            os.kill(child.pid, sig)  # (not child.poll(): that would reap it behind the loop below)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    # wait for the command, collecting the orphans that exit meanwhile (a zombie still answers kill -0)
    rc = None
    while rc is None:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child.pid:
            rc = os.waitstatus_to_exitcode(status)
            child.returncode = rc
    if rc is None:
        rc = child.wait()
    if rc < 0:
        rc = 128 - rc  # killed by a signal: the shell's convention

    # a helper exiting with its parent (esbuild under tsx, a pipe's reader) may still be on its way
    # out: what is left after a moment is what the tests left
    settle = time.monotonic() + int(os.environ.get('TROVE_REAP_SETTLE_MS', '2000')) / 1000
    left = descendants(os.getpid())
    while left and time.monotonic() < settle:
        time.sleep(0.1)
        reap_zombies()
        left = descendants(os.getpid())
    for pid in left:
        print(f'left behind: pid {pid}: {command_of(pid)}', flush=True)
    if left:
        signal_all(left, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            reap_zombies()
            if not descendants(os.getpid()):
                break
            time.sleep(0.1)
        signal_all(descendants(os.getpid()), signal.SIGKILL)
        # until every child is collected: a killed child is a zombie until then, and would still answer kill -0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    time.sleep(0.05)
            except ChildProcessError:
                break
    print(f'processes left behind by the tests: {len(left)}' + (' (stopped now)' if left else ''), flush=True)
    return rc if rc != 0 else (1 if left else 0)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
