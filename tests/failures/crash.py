#!/usr/bin/env python3
"""Crashes under load on PostgreSQL: the database server itself crashes (an immediate shutdown,
as a power cut leaves it) and the minsheng server is SIGKILLed, in turns, while operators create
tickets and a dispatcher dispatches them. Afterwards every acknowledged ticket is there with its
description, every acknowledged dispatch holds, the log verifies, a rebuild changes nothing, and
each citizen notification reached the SMS gateway under one idempotency key (a retry repeats
the key; it never makes a second message).

    crash.py --minsheng target/debug/minsheng --postgres-url URL --pg-script scripts/postgres \
             [--pg-crashes 5] [--server-kills 5]

The URL names the test cluster's database; a fresh database is created beside it and dropped
afterwards. `scripts/postgres crash|restart` (with MINSHENG_PG_STATE) stops and starts the cluster.
"""
import argparse
import http.server
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error

from harness import Server, call, new_ticket, read_back, wait_for


class Gateway(http.server.ThreadingHTTPServer):
    """An SMS gateway on loopback that records each delivery's idempotency key."""

    def __init__(self):
        self.deliveries = []  # (key, ticket, notice)
        self.lock = threading.Lock()
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with gateway.lock:
                    gateway.deliveries.append(
                        (self.headers["Idempotency-Key"], body["ticket"], body["notice"]))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/sms"


def psql(url, sql):
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minsheng", required=True)
    parser.add_argument("--postgres-url", required=True)
    parser.add_argument("--pg-script", required=True)
    parser.add_argument("--pg-crashes", type=int, default=5)
    parser.add_argument("--server-kills", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    prefix, _ = args.postgres_url.rsplit("/", 1)
    name = f"minsheng_crash_{os.getpid()}"
    url = f"{prefix}/{name}"
    psql(args.postgres_url, f"CREATE DATABASE {name}")
    work = tempfile.mkdtemp(prefix="minsheng-crash-")
    keys = os.path.join(work, "city.keys")
    log = open(os.path.join(work, "server.log"), "ab")
    env = dict(os.environ, MINSHENG_KEY_FILE=keys)
    print(f"crash: seed {seed}, database {name}, working in {work}")
    gateway = Gateway()
    server = None
    try:
        if subprocess.run([args.minsheng, "demo", "--db", url, "--days", "1", "--per-day", "20"],
                          stdout=log, stderr=log, env=env).returncode != 0:
            sys.exit("crash: building the demo city failed")
        extra = ["--notify-webhook", gateway.url,
                 "--notify-webhook-secret", "crash-test-shared-secret"]
        server = Server(args.minsheng, url, 256, log, extra=extra, env=env)
        dispatcher = call("POST", server.base + "/api/v1/auth/token",
                          body={"username": "dispatcher", "password": "minsheng-demo"})[1]["token"]
        created, dispatched = [], []
        stop = threading.Event()
        state = {"server": server, "dispatcher": dispatcher}

        def client(c):
            i = 0
            while not stop.is_set():
                i += 1
                s = state["server"]
                description = f"崩溃测试 客户{c} 第{i}件：路灯不亮"
                body = new_ticket(description, f"139{random.randrange(10**8):08}")
                try:
                    status, ticket = call("POST", s.base + "/api/v1/tickets", s.token, body, timeout=15)
                    if status != 201:
                        continue
                    created.append((ticket["no"], description))
                    status, _ = call("POST", f"{s.base}/api/v1/tickets/{ticket['no']}/dispatch",
                                     state["dispatcher"], {"lead": "cgj"}, timeout=15)
                    if status == 200:
                        dispatched.append(ticket["no"])
                except (urllib.error.URLError, OSError, ValueError, KeyError):
                    time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
        for t in threads:
            t.start()
        events = ["pg"] * args.pg_crashes + ["server"] * args.server_kills
        random.shuffle(events)
        for n, event in enumerate(events, 1):
            time.sleep(random.uniform(1.5, 4.0))
            before = len(created)
            if event == "pg":
                subprocess.run([args.pg_script, "crash"], check=True, stdout=log, stderr=log)
                time.sleep(random.uniform(0.5, 2.0))
                subprocess.run([args.pg_script, "restart"], check=True, stdout=log, stderr=log)
            else:
                state["server"].kill()
                state["server"] = Server(args.minsheng, url, 256, log, extra=extra, env=env)
                state["dispatcher"] = call(
                    "POST", state["server"].base + "/api/v1/auth/token",
                    body={"username": "dispatcher", "password": "minsheng-demo"})[1]["token"]
            print(f"{n:2}: {'PostgreSQL crashed and restarted' if event == 'pg' else 'minsheng SIGKILLed and restarted'}"
                  f" ({before} tickets acknowledged so far)")
        time.sleep(2)
        stop.set()
        for t in threads:
            t.join()
        server = state["server"]

        lost = []
        for no, description in created:
            ticket = read_back(server, no)
            if ticket is None or ticket.get("description") != description:
                lost.append(no)
            elif no in dispatched and ticket.get("status") == "pending_dispatch":
                lost.append(f"{no} (its dispatch)")
        # Every dispatch tells the citizen; wait for the gateway to hear them all.
        def told():
            with gateway.lock:
                heard = {t for _, t, notice in gateway.deliveries if notice == "dispatched"}
            return all(no in heard for no in dispatched)
        wait_for(told, "every dispatch's notification at the gateway", timeout=300)
        server.stop()
        server = None
        with gateway.lock:
            deliveries = list(gateway.deliveries)
        keys_of = {}
        for key, ticket, notice in deliveries:
            keys_of.setdefault((ticket, notice), set()).add(key)
        twice = {k: v for k, v in keys_of.items() if len(v) > 1}
        repeats = len(deliveries) - len({d[0] for d in deliveries})
        verify = subprocess.run([args.minsheng, "audit", "verify", "--db", url], stdout=log, stderr=log, env=env)
        rebuild = subprocess.run([args.minsheng, "rebuild", "--db", url], stdout=log, stderr=log, env=env)
        print(f"crash: {len(lost)} lost of {len(created)} acknowledged tickets ({len(dispatched)} "
              f"acknowledged dispatches) over {args.pg_crashes} PostgreSQL crashes and "
              f"{args.server_kills} server kills; {len(deliveries)} deliveries, {repeats} repeated "
              f"under the same key, {len(twice)} messages under two keys; audit verify exit "
              f"{verify.returncode}, rebuild exit {rebuild.returncode}")
        if lost or twice or verify.returncode != 0 or rebuild.returncode != 0:
            sys.exit(f"crash: FAILED {lost[:10]} {list(twice.items())[:5]}")
    finally:
        if server:
            server.kill()
        gateway.shutdown()
        subprocess.run(["psql", args.postgres_url, "-q", "-c",
                        f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
