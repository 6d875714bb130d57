#!/usr/bin/env python3
"""A full disk: writes are refused with 503 and a clear log line, nothing acknowledged is lost,
and writing resumes by itself when space returns — no restart.

The database lives on a small tmpfs (mounted here; run as root). Operators create tickets while
a filler file takes every free byte; once the store's writes fail, every answer must be a 503
whose message says the disk is full (never a 500), and the server's log must say so. Then the
filler is deleted, tickets are created again without restarting the server, and every ticket
acknowledged before, during or after is read back; with the server stopped, the log verifies.

    disk_full.py --minsheng target/debug/minsheng
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error

from harness import Server, call, new_ticket, read_back


def create(server, i):
    """Creates one ticket: (status, number or error body)."""
    body = new_ticket(f"满盘测试 第{i}件：路灯不亮。" + "幸福路沿线多处路灯夜间不亮，" * 20,
                      f"139{i:08}")
    try:
        status, created = call("POST", server.base + "/api/v1/tickets", server.token, body)
        return status, created["no"]
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def fill(path):
    """Writes zeros to `path` until the filesystem is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minsheng", required=True)
    parser.add_argument("--size", default="48m", help="the tmpfs's size")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="minsheng-disk-full-")
    mnt = os.path.join(work, "disk")
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.size}", "tmpfs", mnt], check=True)
    log_path = os.path.join(work, "server.log")
    log = open(log_path, "ab")
    server = None
    try:
        db = os.path.join(mnt, "city.db")
        if subprocess.run([args.minsheng, "demo", "--db", db, "--days", "1", "--per-day", "20"],
                          stdout=log, stderr=log).returncode != 0:
            sys.exit("disk-full: building the demo city failed")
        server = Server(args.minsheng, db, 8, log)
        acknowledged, i = [], 0
        for _ in range(50):
            i += 1
            status, no = create(server, i)
            assert status == 201, (status, no)
            acknowledged.append(no)
        fill(os.path.join(mnt, "filler"))
        refused, statuses = 0, {}
        deadline = time.monotonic() + 60
        while refused < 20 and time.monotonic() < deadline:
            i += 1
            status, answer = create(server, i)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 201:
                acknowledged.append(answer)
            elif status == 503:
                assert "disk" in answer and "full" in answer, answer
                refused += 1
            else:
                sys.exit(f"disk-full: a full disk answered {status}: {answer}")
        if refused == 0:
            sys.exit(f"disk-full: the disk filled but no write was refused: {statuses}")
        print(f"full disk: answers {statuses} (201 while SQLite still had room in its files)")
        os.remove(os.path.join(mnt, "filler"))
        resumed = None
        deadline = time.monotonic() + 30
        while resumed is None and time.monotonic() < deadline:
            i += 1
            status, answer = create(server, i)
            if status == 201:
                acknowledged.append(answer)
                resumed = i
            else:
                time.sleep(0.2)
        if resumed is None:
            sys.exit("disk-full: writes did not resume after space was freed")
        for _ in range(50):
            i += 1
            status, no = create(server, i)
            assert status == 201, (status, no)
            acknowledged.append(no)
        missing = []
        for no in acknowledged:
            if read_back(server, no) is None:
                missing.append(no)
        server.stop()
        server = None
        with open(log_path, "rb") as f:
            said = f.read().count("the disk is full".encode())
        if said == 0:
            sys.exit("disk-full: the server's log never said the disk was full")
        if subprocess.run([args.minsheng, "audit", "verify", "--db", db],
                          stdout=log, stderr=log).returncode != 0:
            sys.exit("disk-full: the log does not verify afterwards")
        print(f"disk-full: {refused} writes refused with 503 while full, the log said so {said} times; "
              f"writing resumed without a restart; {len(missing)} lost of {len(acknowledged)} acknowledged; "
              "the log verifies")
        if missing:
            sys.exit(f"disk-full: lost {missing[:10]}")
    finally:
        if server:
            server.kill()
        subprocess.run(["umount", "-l", mnt], check=False)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
