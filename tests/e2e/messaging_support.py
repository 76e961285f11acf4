"""Helpers for the messaging end-to-end tests: the provider simulator, API keys, SQL."""
import base64
import hashlib
import hmac
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import requests

from conftest import Herald, free_port, herald_binary, ROOT

SIM_TOKEN = "sim-auth-token"
ACCOUNT_SID = "AC" + "0" * 32


class ProviderSim:
    """`herald provider-sim` as a separate process."""

    def __init__(self, *flags: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.flags = list(flags)
        self.process = None
        self.lines: list[str] = []

    def start(self):
        self.process = subprocess.Popen(
            [herald_binary(), "provider-sim", "--port", str(self.port), "--auth-token", SIM_TOKEN, *self.flags],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        ready = threading.Event()

        def pump():
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                if "listening on" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        assert ready.wait(30), "provider-sim did not start:\n" + "\n".join(self.lines)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def messages(self) -> list[dict]:
        return requests.get(self.url + "/sim/messages", timeout=30).json()["data"]

    def stats(self) -> dict:
        return requests.get(self.url + "/sim/stats", timeout=10).json()


def start_herald(data_dir: str, **env) -> Herald:
    server = Herald(data_dir)
    base_env = server.env

    def env_with_public_url():
        merged = base_env()
        merged["HERALD_PUBLIC_URL"] = server.url
        merged.update({k: str(v) for k, v in env.items()})
        return merged

    server.env = env_with_public_url
    return server.start()


def admin_key(server: Herald) -> dict:
    result = server.cli("api-keys", "create", "--name", "e2e", "--scope", "admin")
    assert result.returncode == 0, result.stderr
    return {"Authorization": "Bearer " + result.stdout.strip().splitlines()[-1]}


def twilio_provider(server: Herald, headers: dict, sim: ProviderSim, **extra) -> dict:
    body = {
        "name": extra.pop("name", "sim-twilio"), "type": "twilio",
        "config": {"account_sid": ACCOUNT_SID, "auth_token": SIM_TOKEN, "from": "+15005550006", "base_url": sim.url},
        "priority": 10,
    }
    body.update(extra)
    response = server.request("POST", "/v1/providers", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def psql(data_dir: str, sql: str) -> str:
    """Runs SQL on the embedded cluster of a Herald data directory (test set-up only)."""
    cluster = (Path(data_dir) / "postgres-location").read_text().strip()
    cmd = ["psql", "-h", cluster, "-p", "5432", "-U", "postgres", "-d", "herald", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def queue_messages(data_dir: str, count: int, prefix: str = "m") -> None:
    """Queues `count` transactional messages with unique bodies straight into the queue table
    (set-up for load tests; the API path is tested separately)."""
    psql(data_dir, f"""
        INSERT INTO messages (to_number, country, body, channel, kind, priority, status, encoding, segments, characters)
        SELECT '+1415555' || lpad((i % 10000)::text, 4, '0'), 'US', '{prefix} ' || i, 'sms', 'transactional', 0, 'queued', 'GSM-7', 1,
               length('{prefix} ' || i)
        FROM generate_series(1, {count}) AS i
    """)


def status_counts(data_dir: str) -> dict:
    rows = psql(data_dir, "SELECT status, count(*) FROM messages GROUP BY status")
    return {line.split("|")[0]: int(line.split("|")[1]) for line in rows.splitlines() if line}


def wait_for(predicate, timeout: float, interval: float = 0.5, message: str = "condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}; last: {last!r}")


def twilio_signature(url: str, params: dict, token: str) -> str:
    data = url + "".join(k + v for k, v in sorted(params.items()))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
