#!/usr/bin/env python3
"""Power cuts under load: every ticket the server acknowledged must survive.

The database lives on lazyfs (../shared/tools/lazyfs.py, copied path given by --lazyfs), a FUSE
filesystem that keeps every write in memory until its file is fsynced. Each round starts
`minsheng serve` on it with a small WAL bound (so the WAL is started over many times), creates
tickets from several clients, SIGKILLs the server at a random moment, discards every unsynced
write and remounts: a power cut. Then it checks, with the server stopped, that the log verifies
and that a rebuild finds every projection equal to the log, and, with it started again, that
every acknowledged ticket is there with its description.

First it checks that lazyfs can see loss at all: SQLite with synchronous=OFF must lose
acknowledged rows on it.

    power_cut.py --minsheng target/release/minsheng --lazyfs ../shared/tools/lazyfs.py [--rounds 5]
"""
import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from harness import Server, call, new_ticket, read_back, wait_for


class Lazy:
    """A lazyfs mount of `root` at `mnt`."""

    def __init__(self, lazyfs, root, mnt):
        self.lazyfs, self.root, self.mnt = lazyfs, root, mnt
        self.proc = None

    def mount(self):
        self.proc = subprocess.Popen([sys.executable, self.lazyfs, self.root, self.mnt],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.ismount(self.mnt), "the lazyfs mount")

    def cut_power(self):
        """Discards every unsynced write, then unmounts, so no page cache keeps them either."""
        with open(os.path.join(self.mnt, ".drop"), "w") as f:
            f.write("drop")
        self.unmount()

    def unmount(self):
        subprocess.run(["fusermount", "-u", "-z", self.mnt], check=False)
        if self.proc:
            self.proc.wait(timeout=30)
        wait_for(lambda: not os.path.ismount(self.mnt), "the unmount")


def control(lazy):
    """SQLite with synchronous=OFF must lose committed rows on lazyfs, or lazyfs is not working."""
    lazy.mount()
    path = os.path.join(lazy.mnt, "control.db")
    script = (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({path!r}, isolation_level=None)\n"
        "c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA synchronous=OFF')\n"
        "c.execute('CREATE TABLE t (x)')\n"
        "for i in range(200): c.execute('INSERT INTO t VALUES (?)', (i,))\n"
        "print('committed', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "committed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    lazy.cut_power()
    lazy.mount()
    check = sqlite3.connect(path)
    try:
        rows = check.execute("SELECT count(*) FROM t").fetchone()[0]
    except sqlite3.DatabaseError:
        rows = 0
    finally:
        check.close()
    lazy.unmount()
    for name in os.listdir(lazy.root):
        if name.startswith("control.db"):
            os.remove(os.path.join(lazy.root, name))
    if rows >= 200:
        sys.exit("power-cut: lazyfs lost nothing of an unsynced SQLite; it cannot test durability here")
    print(f"control: SQLite with synchronous=OFF kept {rows} of 200 committed rows after the cut")


def load(server, round_no, clients, acknowledged, stop):
    """Creates tickets until `stop`; appends (number, description) of each one acknowledged."""
    def client(c):
        i = 0
        while not stop.is_set():
            i += 1
            description = f"断电测试 第{round_no}轮 客户{c} 第{i}件：路灯不亮"
            body = new_ticket(description, f"139{random.randrange(10**8):08}")
            try:
                status, created = call("POST", server.base + "/api/v1/tickets", server.token, body)
            except (urllib.error.URLError, OSError, ValueError):
                continue
            if status == 201:
                acknowledged.append((created["no"], description))
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    return threads


def run(cmd, log):
    return subprocess.run(cmd, stdout=log, stderr=log).returncode


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minsheng", required=True)
    parser.add_argument("--lazyfs", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--wal-limit", type=int, default=4, help="MiB")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    work = tempfile.mkdtemp(prefix="minsheng-power-cut-")
    root, mnt = os.path.join(work, "disk"), os.path.join(work, "mnt")
    os.makedirs(root)
    os.makedirs(mnt)
    log = open(os.path.join(work, "server.log"), "ab")
    print(f"power-cut: seed {seed}, working in {work}")
    lazy = Lazy(os.path.abspath(args.lazyfs), root, mnt)
    try:
        control(lazy)
        # The demo city is built on the real disk, then served from lazyfs.
        if run([args.minsheng, "demo", "--db", os.path.join(root, "city.db"), "--days", "1",
                "--per-day", "50"], log) != 0:
            sys.exit("power-cut: building the demo city failed")
        lazy.mount()
        db = os.path.join(mnt, "city.db")
        acknowledged = []
        for round_no in range(1, args.rounds + 1):
            server = Server(args.minsheng, db, args.wal_limit, log)
            stop = threading.Event()
            before = len(acknowledged)
            threads = load(server, round_no, args.clients, acknowledged, stop)
            time.sleep(random.uniform(2.0, 6.0))
            server.kill()
            stop.set()
            for t in threads:
                t.join()
            lazy.cut_power()
            lazy.mount()
            if run([args.minsheng, "audit", "verify", "--db", db], log) != 0:
                sys.exit(f"power-cut: round {round_no}: the log does not verify after the cut")
            if run([args.minsheng, "rebuild", "--db", db], log) != 0:
                sys.exit(f"power-cut: round {round_no}: a rebuild found projections that differ from the log")
            print(f"round {round_no}: killed after {len(acknowledged) - before} acknowledged tickets; "
                  "the log verifies and a rebuild changes nothing")
        server = Server(args.minsheng, db, args.wal_limit, log)
        lost = []
        for no, description in acknowledged:
            ticket = read_back(server, no)
            if ticket is None or ticket.get("description") != description:
                lost.append(no)
        server.stop()
        lazy.unmount()
        log.flush()
        with open(os.path.join(work, "server.log"), "rb") as f:
            forced = f.read().count(b"the WAL neared its bound")
        print(f"the writer forced {forced} restarts of the WAL at its bound of {args.wal_limit} MiB "
              "(the checkpoint thread asked for the others)")
        print(f"power-cut: {len(lost)} lost of {len(acknowledged)} acknowledged over {args.rounds} power cuts")
        if lost:
            sys.exit(f"power-cut: lost {lost[:10]}")
    finally:
        if os.path.ismount(mnt):
            lazy.unmount()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
