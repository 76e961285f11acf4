"""A campaign survives `kill -9` of Herald mid-send: after a restart it completes, every recipient
is reached, and duplicates stay within the dispatcher's in-flight window (reported in the run's
figures). Two processes on one database launch a scheduled campaign once."""
import subprocess
import time

from conftest import herald_binary
from messaging_support import ProviderSim, admin_key, psql, start_herald, twilio_provider, wait_for


def seed_contacts(data_dir: str, count: int) -> None:
    psql(data_dir, f"""
        INSERT INTO contacts (phone, country, line_type, tags, first_name)
        SELECT '+1415' || (2000000 + g)::text, 'US', 'fixed_line_or_mobile', '{{crash}}', 'Fan' || g
        FROM generate_series(0, {count - 1}) g
    """)


def create_campaign(server, headers, **extra) -> str:
    template = server.request("POST", "/v1/templates", headers=headers,
                              json={"name": "crash_sale", "kind": "marketing", "body": "Hi {{first_name}}, sale today"})
    assert template.status_code == 201, template.text
    body = {"name": "Crash test", "template_id": template.json()["id"], "quiet_hours": None, "frequency_cap": None}
    body.update(extra)
    campaign = server.request("POST", "/v1/campaigns", headers=headers, json=body)
    assert campaign.status_code == 201, campaign.text
    return campaign.json()["id"]


def test_kill_9_mid_campaign_then_restart_completes_it(data_dir, figures):
    count = 20_000
    window = 256
    simulator = ProviderSim("--no-receipts").start()
    environment = dict(HERALD_DISPATCH_WINDOW=window, HERALD_LEASE_SECONDS=10, HERALD_PROVIDER_TIMEOUT_MS=3000)
    server = start_herald(data_dir, **environment)
    try:
        headers = admin_key(server)
        twilio_provider(server, headers, simulator)
        seed_contacts(data_dir, count)
        campaign = create_campaign(server, headers)
        sent = server.request("POST", f"/v1/campaigns/{campaign}/send", headers=headers)
        assert sent.status_code == 200 and sent.json()["stats"]["recipients"] == count, sent.text
        wait_for(lambda: simulator.stats()["accepted"] >= count // 4, 300, interval=0.1, message="a quarter sent")
        server.process.kill()  # kill -9
        server.process.wait()
        at_kill = simulator.stats()["accepted"]
        server = start_herald(data_dir, **environment)

        def completed():
            response = server.request("GET", f"/v1/campaigns/{campaign}", headers=headers)
            return response.json() if response.json()["status"] == "completed" else None

        final = wait_for(completed, 600, interval=1, message="the campaign completes after the restart")
        stats = simulator.stats()
        reached = {m["to"] for m in simulator.messages()} if stats["accepted"] <= 100_000 else set()
        figures(f"campaign kill -9: {count} recipients; killed at {at_kill} accepted; final stats {final['stats']}; "
                f"simulator accepted {stats['accepted']}, duplicates {stats['duplicates']} (window {window})")
        assert final["stats"]["sent"] + final["stats"]["delivered"] == count
        assert stats["duplicates"] <= window, "duplicates are bounded by the in-flight window at the kill"
        assert stats["accepted"] - stats["duplicates"] == count, "every recipient reached"
        assert len(reached) == count
        assert psql(data_dir, f"SELECT count(*) FROM campaign_recipients WHERE campaign_id = '{campaign}' AND status = 'pending'") == "0"
    finally:
        if server.process.poll() is None:
            server.stop()
        simulator.stop()


def test_two_processes_launch_a_scheduled_campaign_once(data_dir):
    simulator = ProviderSim("--no-receipts").start()
    first = start_herald(data_dir)
    second = None
    try:
        headers = admin_key(first)
        twilio_provider(first, headers, simulator)
        seed_contacts(data_dir, 500)
        # A second process on the same database: `herald worker` runs the same scheduler.
        second = subprocess.Popen([herald_binary(), "worker"], cwd=first.env()["HERALD_HOME"], env=first.env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        assert second.poll() is None, "the worker runs beside serve"
        campaign = create_campaign(first, headers)
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
        scheduled = first.request("POST", f"/v1/campaigns/{campaign}/schedule", headers=headers, json={"schedule": {"send_at": at}})
        assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled", scheduled.text
        wait_for(lambda: first.request("GET", f"/v1/campaigns/{campaign}", headers=headers).json()["status"] == "completed",
                 120, interval=0.5, message="the scheduled campaign completes")
        stats = simulator.stats()
        assert stats["accepted"] == 500 and stats["duplicates"] == 0
        assert psql(data_dir, f"SELECT count(*) FROM campaign_recipients WHERE campaign_id = '{campaign}'") == "500"
    finally:
        if second is not None and second.poll() is None:
            second.terminate()
            second.wait(timeout=30)
        if first.process.poll() is None:
            first.stop()
        simulator.stop()
