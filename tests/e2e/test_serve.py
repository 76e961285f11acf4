"""`herald serve` end to end: the promises of the quick start and the API key contract."""
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import requests

from conftest import ROOT, Herald, herald_binary


def login(server: Herald, email: str, password: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    response = session.post(server.url + "/auth/login", json={"email": email, "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    return session, response.json()["csrf_token"]


def test_serve_prints_url_and_first_login_and_answers_health(herald):
    assert any(line.startswith(f"Herald is running: {herald.url}/") for line in herald.lines)
    assert herald.first_login and herald.first_login[0] == "admin@localhost"
    assert herald.get("/healthz").status_code == 200
    assert herald.get("/readyz").json() == {"status": "ready"}
    page = herald.get("/")
    assert page.status_code == 200 and "login-form" in page.text


def test_first_login_must_choose_a_password_and_restart_keeps_users(data_dir):
    server = Herald(data_dir).start()
    email, password = server.first_login
    assert server.stop() == 0

    again = Herald(data_dir)
    again.port, again.url = server.port, server.url
    again.start()
    assert again.first_login == (email, password), "the first login is shown until it is changed"
    secret_file = Path(data_dir, "initial-admin-password")
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(data_dir).stat().st_mode) & 0o077 & ~0o011 == 0, "no one else may list or read the data directory"

    session = requests.Session()
    response = session.post(again.url + "/auth/login", json={"email": email, "password": password}, timeout=10)
    assert response.status_code == 200 and response.json()["password_change_required"] is True
    csrf = {"X-CSRF-Token": response.json()["csrf_token"]}
    user = {"email": "mia@example.com", "role": "marketer", "password": "a long enough password"}
    blocked = session.post(again.url + "/v1/users", json=user, headers=csrf, timeout=10)
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "password_change_required"
    changed = session.post(again.url + "/auth/password", headers=csrf, timeout=10,
                           json={"current_password": password, "new_password": "the admin's own password"})
    assert changed.status_code == 200 and changed.json()["password_change_required"] is False
    assert not secret_file.exists(), "the printed password's file is deleted once it is changed"
    created = session.post(again.url + "/v1/users", json=user, headers=csrf, timeout=10)
    assert created.status_code == 201, created.text
    assert again.stop() == 0  # graceful SIGTERM

    third = Herald(data_dir)
    third.port, third.url = server.port, server.url
    third.start()
    try:
        assert third.first_login is None, "a changed first password is no longer printed"
        assert not any("First login" in line for line in third.lines)
        login(third, email, "the admin's own password")
        login(third, "mia@example.com", "a long enough password")
    finally:
        third.stop()


def test_reset_password_lets_a_locked_out_admin_back_in(herald):
    session, _ = herald.admin_session()
    email = herald.first_login[0]
    for _ in range(5):
        herald.request("POST", "/auth/login", json={"email": email, "password": "not it at all"})
    locked = herald.request("POST", "/auth/login", json={"email": email, "password": herald.admin_password})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert session.get(herald.url + "/auth/me", timeout=10).status_code == 200

    reset = herald.cli("users", "reset-password", email, "--password-stdin", stdin="a reset long password\n")
    assert reset.returncode == 0, reset.stderr
    assert "a reset long password" not in reset.stdout
    assert session.get(herald.url + "/auth/me", timeout=10).status_code == 401, "a reset ends the sessions"
    response = herald.request("POST", "/auth/login", json={"email": email, "password": "a reset long password"})
    assert response.status_code == 200, response.text
    assert response.json()["password_change_required"] is True

    generated = herald.cli("users", "reset-password", email)
    assert generated.returncode == 0, generated.stderr
    new_password = generated.stdout.strip().splitlines()[-1].removeprefix("Password: ")
    assert len(new_password) == 20
    assert herald.request("POST", "/auth/login", json={"email": email, "password": new_password}).status_code == 200
    missing = herald.cli("users", "reset-password", "nobody@example.com", "--password-stdin", stdin="a reset long password\n")
    assert missing.returncode != 0 and "no user" in (missing.stderr + missing.stdout)


def test_kill_9_and_restart_comes_back(data_dir):
    server = Herald(data_dir).start()
    email, password = server.first_login
    server.stop(signal.SIGKILL)
    again = Herald(data_dir).start()
    try:
        assert again.get("/readyz").status_code == 200
        login(again, email, password)
    finally:
        assert again.stop() == 0


def test_api_key_scopes_and_revocation(herald):
    result = herald.cli("api-keys", "create", "--name", "ci", "--scope", "admin")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("hk_")
    admin = {"Authorization": f"Bearer {key}"}
    listed = herald.get("/v1/api-keys", headers=admin)
    assert listed.status_code == 200, listed.text

    assert herald.get("/v1/api-keys").status_code == 401
    narrow = herald.cli("api-keys", "create", "--name", "narrow", "--scope", "messages").stdout.strip().splitlines()[-1]
    forbidden = herald.get("/v1/api-keys", headers={"Authorization": f"Bearer {narrow}"})
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"

    key_id = next(k["id"] for k in listed.json()["data"] if k["name"] == "ci")
    assert herald.request("DELETE", f"/v1/api-keys/{key_id}", headers=admin).status_code == 204
    assert herald.get("/v1/api-keys", headers=admin).status_code == 401


def test_cli_rejects_bad_input_clearly(herald):
    bad_scope = herald.cli("api-keys", "create", "--name", "x", "--scope", "root")
    assert bad_scope.returncode != 0 and "scope" in (bad_scope.stderr + bad_scope.stdout)
    bad_role = herald.cli("users", "create", "--email", "a@b.c", "--role", "king")
    assert bad_role.returncode != 0 and "role" in (bad_role.stderr + bad_role.stdout)
    created = herald.cli("users", "create", "--email", "ops@example.com", "--role", "admin", "--password-stdin",
                         stdin="a long enough password\n")
    assert created.returncode == 0, created.stderr
    login(herald, "ops@example.com", "a long enough password")
    duplicate = herald.cli("users", "create", "--email", "OPS@example.com", "--role", "viewer")
    assert duplicate.returncode != 0 and "already exists" in (duplicate.stderr + duplicate.stdout)


def test_hostile_requests_never_500(herald):
    key = herald.cli("api-keys", "create", "--name", "fuzz", "--scope", "admin").stdout.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {key}"}
    cases = [
        ("GET", "/nope", {}, None, 404, "not_found"),
        ("DELETE", "/healthz", {}, None, 405, "method_not_allowed"),
        ("POST", "/v1/api-keys", {**auth, "Content-Type": "application/json"}, b"{not json", 400, "invalid_json"),
        ("POST", "/v1/api-keys", {**auth, "Content-Type": "application/json"}, b'{"name": 1, "scopes": "admin"}', 400, "validation_failed"),
        ("POST", "/v1/api-keys", {**auth, "Content-Type": "application/json"}, b"x" * (3 << 20), 413, "payload_too_large"),
        ("POST", "/auth/login", {"Content-Type": "application/json"}, b'{"email": [], "password": {}}', 400, "validation_failed"),
        ("GET", "/v1/api-keys?limit=-5", auth, None, 400, "validation_failed"),
        ("GET", "/v1/users?cursor=%FF%FE", auth, None, 400, "validation_failed"),
    ]
    for method, path, headers, body, status, code in cases:
        response = herald.request(method, path, headers=headers, data=body)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        assert response.json()["error"]["code"] == code, (method, path, response.text)
    assert herald.get("/healthz").status_code == 200


def test_a_second_serve_on_the_same_data_directory_stops_without_harming_the_first(data_dir):
    first = Herald(data_dir).start()
    try:
        second = Herald(data_dir)
        result = subprocess.run([herald_binary(), "serve"], cwd=ROOT, env=second.env(), capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert "already running" in (result.stdout + result.stderr)
        assert first.get("/readyz").status_code == 200, "the first server's database is untouched"
    finally:
        first.stop()


def test_a_client_that_writes_a_huge_body_before_reading_gets_its_413(herald):
    """Python's requests writes the whole body before it reads: the 413 must reach it, not a hang."""
    key = herald.cli("api-keys", "create", "--name", "big", "--scope", "admin").stdout.strip().splitlines()[-1]
    started = time.time()
    response = requests.post(herald.url + "/v1/messages", data=b"x" * (50 << 20), timeout=60,
                             headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert time.time() - started < 60
    assert herald.get("/healthz").status_code == 200


def _raw_post_head(herald, key: str, length: int) -> bytes:
    return (f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:{herald.port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def _read_until_closed(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes; a server that keeps the connection open
    makes recv time out, which fails the test."""
    received = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return received
        received += chunk


def test_a_413_closes_the_connection(herald):
    """A refused body is not read on a kept-alive connection: the 413 says so and the server closes."""
    key = herald.cli("api-keys", "create", "--name", "close", "--scope", "admin").stdout.strip().splitlines()[-1]
    body = b"x" * ((1 << 20) + 4096)
    with socket.create_connection(("127.0.0.1", herald.port), timeout=15) as conn:
        conn.sendall(_raw_post_head(herald, key, len(body)) + body)
        response = _read_until_closed(conn)
    head, _, payload = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"connection: close" in head.lower()
    assert b"payload_too_large" in payload
    assert herald.get("/healthz").status_code == 200


def test_a_client_that_never_stops_writing_is_cut_off(herald):
    """The rest of a refused body is drained only so far: an endless body does not hold a connection."""
    key = herald.cli("api-keys", "create", "--name", "endless", "--scope", "admin").stdout.strip().splitlines()[-1]
    declared = 4 << 30  # 4 GiB promised; the server must stop reading long before that.
    chunk = b"x" * (1 << 20)
    sent = 0
    with socket.create_connection(("127.0.0.1", herald.port), timeout=30) as conn:
        conn.sendall(_raw_post_head(herald, key, declared))
        for _ in range(4):
            conn.sendall(chunk)
            sent += len(chunk)
        head = conn.recv(65536)
        assert head.startswith(b"HTTP/1.1 413"), head
        assert b"connection: close" in head.lower()
        cut_off = False
        try:
            while sent < declared:
                conn.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            cut_off = True
    assert cut_off, f"the server read {sent >> 20} MiB of a refused body"
    assert sent < 512 << 20, f"the server read {sent >> 20} MiB of a refused body before closing"
    assert herald.get("/healthz").status_code == 200
