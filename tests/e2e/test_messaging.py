"""The messaging engine end to end: real binary, embedded PostgreSQL, `herald provider-sim`."""
import glob
import re
import signal
import os
import subprocess
import time
from pathlib import Path

import pytest

from messaging_support import (ProviderSim, SIM_TOKEN, admin_key, psql, queue_messages, start_herald, status_counts,
                               twilio_provider, twilio_signature, wait_for)
from conftest import Herald, herald_binary


@pytest.fixture
def sim():
    simulator = ProviderSim("--receipt-delay-ms", "50").start()
    yield simulator
    simulator.stop()


def test_twilio_message_through_the_simulator_ends_delivered_and_bad_receipts_are_refused(data_dir, sim):
    server = start_herald(data_dir)
    try:
        headers = admin_key(server)
        provider = twilio_provider(server, headers, sim)
        assert provider["config"]["auth_token"] == "********", "secrets are write-only"
        sent = server.request("POST", "/v1/messages", json={"to": "+14155550100", "body": "Your parcel is out for delivery"},
                              headers=headers)
        assert sent.status_code == 202, sent.text
        message_id = sent.json()["id"]

        def delivered():
            body = server.get(f"/v1/messages/{message_id}", headers=headers).json()
            return body if body["status"] == "delivered" else None

        message = wait_for(delivered, 30, message="delivered")
        assert message["provider"] == "sim-twilio"
        assert message["provider_message_id"].startswith("SM")
        arrived = [m for m in sim.messages() if m["body"] == "Your parcel is out for delivery"]
        assert len(arrived) == 1
        assert arrived[0]["api"] == "twilio" and arrived[0]["to"] == "+14155550100" and arrived[0]["from"] == "+15005550006"
        # The dispatcher's counters reach /metrics (they are made after swift-metrics is bootstrapped).
        submissions = re.search(r"^herald_dispatch_submissions_total(?:\{[^}]*\})? (\S+)$", server.get("/metrics").text, re.M)
        assert submissions and float(submissions.group(1)) >= 1

        # A receipt with a wrong signature changes nothing and gets 403.
        url = f"{server.url}/webhooks/{provider['id']}/status?m={message_id}"
        params = {"MessageSid": message["provider_message_id"], "MessageStatus": "undelivered", "ErrorCode": "30003",
                  "AccountSid": "AC" + "0" * 32}
        bad = server.request("POST", url[len(server.url):], data=params,
                             headers={"X-Twilio-Signature": twilio_signature(url, params, "wrong-token")})
        assert bad.status_code == 403
        assert bad.json()["error"]["code"] == "invalid_signature"
        missing = server.request("POST", url[len(server.url):], data=params)
        assert missing.status_code == 403
        assert server.get(f"/v1/messages/{message_id}", headers=headers).json()["status"] == "delivered"
        # The same receipt correctly signed is accepted (and cannot downgrade a delivered message).
        good = server.request("POST", url[len(server.url):], data=params,
                              headers={"X-Twilio-Signature": twilio_signature(url, params, SIM_TOKEN)})
        assert good.status_code == 200, good.text
    finally:
        server.stop()


def test_faults_retries_and_retry_after(data_dir, figures):
    count = 20_000
    simulator = ProviderSim("--error-rate", "0.3", "--throttle-rate", "0.1", "--hang-rate", "0.05",
                            "--receipt-delay-ms", "20").start()
    server = start_herald(data_dir, HERALD_PROVIDER_TIMEOUT_MS=1500, HERALD_RETRY_BASE_MS=200, HERALD_RETRY_CAP_MS=3000,
                          HERALD_DISPATCH_WINDOW=512)
    try:
        headers = admin_key(server)
        twilio_provider(server, headers, simulator)
        started = time.time()
        queue_messages(data_dir, count, prefix="fault")

        def all_done():
            counts = status_counts(data_dir)
            done = counts.get("sent", 0) + counts.get("delivered", 0)
            return counts if done == count else None

        counts = wait_for(all_done, 600, interval=2, message="every message sent or delivered")
        elapsed = time.time() - started
        stats = simulator.stats()
        metrics = server.get("/metrics").text
        timeouts = int(float(re.search(r"^herald_dispatch_hung_total(?:\{[^}]*\})? (\S+)$", metrics, re.M).group(1)))
        print(f"\n{count} messages under faults in {elapsed:.1f}s: {counts}; simulator: {stats}; Herald timed out {timeouts}")
        assert counts.get("failed", 0) == 0
        assert stats["errors"] > 0 and stats["throttled"] > 0 and stats["hung"] > 0, "the faults were exercised"
        accepted_bodies = psql(data_dir, "SELECT count(DISTINCT body) FROM messages WHERE status IN ('sent','delivered')")
        assert int(accepted_bodies) == count
        figures(f"faults: {count} messages in {elapsed:.1f}s; simulator accepted {stats['accepted']}, "
                f"{stats['errors']} answered 500, {stats['throttled']} answered 429, {stats['hung']} hung; "
                f"duplicates {stats['duplicates']}, early retries {stats['early_retries']}; Herald timed out {timeouts}")
        # Every message accepted by the simulator exactly once, except where a request hung
        # (the provider may have taken it and the retry then duplicates): those are counted.
        assert stats["accepted"] - stats["duplicates"] == count, "every message accepted at least once"
        assert timeouts >= stats["hung"], "Herald gave up on every request the simulator held"
        # A request whose answer Herald never read (it hung, or the answer came after the
        # timeout on a loaded machine) may have been taken: only those may duplicate. The same
        # goes for Retry-After: a 429 that arrived after Herald gave up cannot be honoured.
        # Every 429 that Herald did read was: no message came back sooner than it asked.
        assert stats["duplicates"] <= timeouts, "only requests Herald gave up on may duplicate"
        assert stats["early_retries"] <= timeouts - stats["hung"], "Retry-After honoured whenever it was read"
    finally:
        server.stop()
        simulator.stop()


def test_kill_9_mid_dispatch_loses_nothing_and_postgres_restart_resumes(data_dir, figures):
    count = 100_000
    simulator = ProviderSim("--receipt-delay-ms", "0", "--no-receipts").start()
    environment = dict(HERALD_DISPATCH_WINDOW=256, HERALD_LEASE_SECONDS=10, HERALD_PROVIDER_TIMEOUT_MS=3000)
    server = start_herald(data_dir, **environment)
    try:
        headers = admin_key(server)
        twilio_provider(server, headers, simulator)
        queue_messages(data_dir, count, prefix="crash")
        wait_for(lambda: len(simulator.messages()) >= count // 4, 300, interval=0.2, message="a quarter sent")
        server.process.kill()  # kill -9
        server.process.wait()
        at_kill = simulator.stats()["accepted"]
        server = start_herald(data_dir, **environment)

        # Restart PostgreSQL in the middle: dispatch resumes by itself.
        wait_for(lambda: simulator.stats()["accepted"] >= at_kill + count // 4, 300, interval=0.2, message="progress after restart")
        cluster = Path(data_dir, "postgres-location").read_text().strip()
        pg_ctl = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1]
        # Without -o, pg_ctl restarts with the options the server was started with.
        cmd = [pg_ctl, "-D", cluster, "-m", "fast", "-w", "-l", f"{cluster}/restart.log", "restart"]
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        # The restarted server inherits pg_ctl's output: never a pipe we would wait on.
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        restarted_at = simulator.stats()["accepted"]

        def all_sent():
            counts = status_counts(data_dir)
            return counts if counts.get("sent", 0) + counts.get("delivered", 0) == count else None

        counts = wait_for(all_sent, 600, interval=2, message="every message sent")
        stats = simulator.stats()
        figures(f"kill -9: {count} messages; killed at {at_kill} accepted, PostgreSQL restarted at {restarted_at}; "
                f"final {counts}; accepted {stats['accepted']}, duplicates {stats['duplicates']} (window 256)")
        assert stats["accepted"] > restarted_at, "dispatch resumed after the PostgreSQL restart"
        assert stats["duplicates"] <= 256, "duplicates are bounded by the in-flight window at the kill"
        assert stats["accepted"] - stats["duplicates"] == count
    finally:
        if server.process.poll() is None:
            server.stop()
        simulator.stop()


def test_worker_sends_what_serve_no_worker_only_queues(data_dir):
    server = Herald(data_dir)
    server.command = ["serve", "--no-worker"]
    server.start()
    worker = None
    try:
        headers = admin_key(server)
        sent = server.request("POST", "/v1/messages", json={"to": "+14155550100", "body": "from the worker"}, headers=headers)
        assert sent.status_code == 202, sent.text
        message_id = sent.json()["id"]
        time.sleep(1.5)
        assert server.get(f"/v1/messages/{message_id}", headers=headers).json()["status"] == "queued", "no dispatcher in serve --no-worker"
        worker = subprocess.Popen([herald_binary(), "worker"], cwd=server.env()["HERALD_HOME"], env=server.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        body = wait_for(lambda: (lambda m: m if m["status"] == "sent" else None)(
            server.get(f"/v1/messages/{message_id}", headers=headers).json()), 30, message="sent by the worker")
        assert body["provider"] == "outbox"
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker and worker.poll() is None:
            worker.kill()
        server.stop()
