"""`herald serve` end to end: the promises of the quick start and the API key contract."""
import signal
import subprocess

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


def test_login_with_printed_password_and_restart_keeps_users(data_dir):
    server = Herald(data_dir).start()
    email, password = server.first_login
    session, csrf = login(server, email, password)
    created = session.post(
        server.url + "/v1/users", json={"email": "mia@example.com", "role": "marketer", "password": "a long enough password"},
        headers={"X-CSRF-Token": csrf}, timeout=10,
    )
    assert created.status_code == 201, created.text
    assert server.stop() == 0  # graceful SIGTERM

    again = Herald(data_dir)
    again.port = server.port
    again.url = server.url
    again.start()
    try:
        assert again.first_login == (email, password), "the first login is shown until it is changed"
        login(again, "mia@example.com", "a long enough password")
    finally:
        again.stop()


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
