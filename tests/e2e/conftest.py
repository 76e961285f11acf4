"""End-to-end tests: the real `herald` binary, its embedded PostgreSQL, a real browser."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
# What the tests choose when the first login asks the admin for a password of their own.
ADMIN_PASSWORD = "the admin's own password"


def herald_binary() -> str:
    explicit = os.environ.get("HERALD_BIN")
    if explicit:
        return explicit
    bin_path = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True)
    return str(Path(bin_path.stdout.strip()) / "herald")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Herald:
    """One `herald serve` process with its own data directory (and so its own embedded cluster)."""

    def __init__(self, data_dir: str):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.lines: list[str] = []
        self.first_login = None
        # The admin's own password once the printed first one has been replaced (see admin_session).
        self.admin_password = None
        self.command = ["serve"]

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")}
        env.update(HERALD_DATA_DIR=self.data_dir, HERALD_PORT=str(self.port), HERALD_HOME=str(ROOT), LOG_LEVEL="warning",
                   # the provider simulator and event receivers of the tests listen on 127.0.0.1
                   HERALD_ALLOW_PRIVATE_NETWORKS="true")
        return env

    def start(self, timeout: float = 60):
        self.lines = []
        self.process = subprocess.Popen(
            [herald_binary(), *self.command], cwd=ROOT, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        ready = threading.Event()

        def pump():
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                match = re.match(r"First login: (\S+) / (\S+)", line)
                if match:
                    self.first_login = (match.group(1), match.group(2))
                if line.startswith("Herald is running"):
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.time() + timeout
        while time.time() < deadline and not ready.is_set():
            if self.process.poll() is not None:
                raise AssertionError("herald exited early:\n" + "\n".join(self.lines))
            time.sleep(0.05)
        assert ready.is_set(), "herald did not start:\n" + "\n".join(self.lines)
        time.sleep(0.1)  # let the pump read the lines printed with the banner
        return self

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def cli(self, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [herald_binary(), *args], cwd=ROOT, env=self.env(), input=stdin, capture_output=True, text=True, timeout=120
        )

    def get(self, path, **kw):
        return requests.get(self.url + path, timeout=10, **kw)

    def request(self, method, path, **kw):
        return requests.request(method, self.url + path, timeout=10, **kw)

    def admin_session(self) -> tuple[requests.Session, str]:
        """Signs in as the first admin, choosing its own password first if it still has the
        printed one (the first login must change it); returns the session and CSRF token."""
        email, printed = self.first_login
        session = requests.Session()
        response = session.post(self.url + "/auth/login", json={"email": email, "password": self.admin_password or printed}, timeout=10)
        assert response.status_code == 200, response.text
        csrf = response.json()["csrf_token"]
        if response.json()["password_change_required"]:
            self.admin_password = ADMIN_PASSWORD
            changed = session.post(self.url + "/auth/password", headers={"X-CSRF-Token": csrf}, timeout=10,
                                   json={"current_password": printed, "new_password": ADMIN_PASSWORD})
            assert changed.status_code == 200, changed.text
        return session, csrf


def stop_cluster(data_dir: str):
    """Stops the embedded cluster a test left running (e.g. after kill -9)."""
    location = Path(data_dir) / "postgres-location"
    cluster = location.read_text().strip() if location.exists() else None
    if cluster and Path(cluster, "postmaster.pid").exists():
        pg_ctl = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))), None)
        if pg_ctl:
            cmd = [str(pg_ctl), "-D", cluster, "-m", "immediate", "stop"]
            if os.getuid() == 0:
                cmd = ["runuser", "-u", "postgres", "--"] + cmd
            subprocess.run(cmd, capture_output=True)
    if cluster and not cluster.startswith(data_dir):
        shutil.rmtree(Path(cluster).parent, ignore_errors=True)


@pytest.fixture
def data_dir():
    directory = tempfile.mkdtemp(prefix="herald-e2e-", dir="/tmp")
    os.chmod(directory, 0o755)
    yield directory
    stop_cluster(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def herald(data_dir):
    server = Herald(data_dir).start()
    yield server
    if server.process.poll() is None:
        server.stop()


# Figures the scale tests measure (messages under faults, duplicates after kill -9, …). They
# are asserted in the tests and also printed in the summary of every run, passed or failed,
# so the `make test` log shows them.
_FIGURES: list[str] = []


@pytest.fixture
def figures():
    """Call with a line to show in the run's summary."""
    return _FIGURES.append


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("e2e figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
