"""What the failure scenarios share: a `minsheng serve` on a port, HTTP calls, waiting."""
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def wait_for(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, token=None, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read() or b"null")


class Server:
    def __init__(self, minsheng, db, wal_limit, log, extra=(), env=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [minsheng, "serve", "--db", db, "--listen", f"127.0.0.1:{self.port}",
             "--wal-limit", str(wal_limit), *extra],
            stdout=log, stderr=log, env=env)

        def up():
            if self.proc.poll() is not None:
                sys.exit(f"the server exited with {self.proc.returncode}; see its log")
            try:
                urllib.request.urlopen(self.base + "/", timeout=1)
                return True
            except (urllib.error.URLError, OSError):
                return False
        wait_for(up, "the server to answer", timeout=120)
        _, issued = call("POST", self.base + "/api/v1/auth/token",
                         body={"username": "operator", "password": "minsheng-demo"})
        self.token = issued["token"]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def new_ticket(description, phone):
    """The body of a street-light complaint with a citizen's contact."""
    return {"kind": "complaint", "category": "030501", "description": description,
            "address": "湖滨街道幸福路12号", "division": "990101001",
            "contact": {"name": "测试市民", "phone": phone}}


def read_back(server, no):
    """The ticket `no` as the server has it now, or None if it is not there."""
    try:
        status, ticket = call("GET", f"{server.base}/api/v1/tickets/{no}", server.token)
    except urllib.error.HTTPError:
        return None
    return ticket if status == 200 else None
