"""Verification codes end to end: the real binary, the simulator as a Twilio provider, and the official
`twilio` Python library pointed at Herald's Twilio Verify v2 endpoints."""
import re

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from messaging_support import ProviderSim, admin_key, start_herald, twilio_provider, wait_for


@pytest.fixture
def sim():
    simulator = ProviderSim("--receipt-delay-ms", "50").start()
    yield simulator
    simulator.stop()


def code_sent_to(sim: ProviderSim, number: str, seen: int = 0) -> str:
    """The code in the newest text the simulator accepted for `number`, once there are more than `seen`."""
    def sent():
        found = [m for m in sim.messages() if m.get("to") == number]
        return found if len(found) > seen else None

    messages = wait_for(sent, 30, message=f"a code for {number}")
    text = messages[-1].get("body") or messages[-1].get("text") or ""
    compact = text.replace(", ", "")
    match = re.search(r"\d{6}", compact)
    assert match, f"no code in {text!r}"
    return match.group(0)


def verify_key(server, headers) -> str:
    response = server.request("POST", "/v1/api-keys", json={"name": "app", "scopes": ["verifications"]}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["key"]


def test_the_official_twilio_library_creates_and_checks_a_verification(data_dir, sim):
    server = start_herald(data_dir)
    try:
        headers = admin_key(server)
        twilio_provider(server, headers, sim)
        services = server.get("/v1/settings", headers=headers).json()["verify_services"]
        assert set(services) == {"registration", "login", "account_change", "password_reset", "payment", "abnormal_login"}
        assert all(re.fullmatch(r"VA[0-9a-f]{32}", sid) for sid in services.values())

        # An app on the official SDK: only the base URL and the credentials change.
        client = Client("AC" + "0" * 32, verify_key(server, headers))
        client.verify.base_url = server.url
        service = client.verify.v2.services(services["login"])
        number = "+14155550142"

        verification = service.verifications.create(to=number, channel="sms")
        assert verification.status == "pending"
        assert verification.sid.startswith("VE") and len(verification.sid) == 34
        assert verification.channel == "sms"
        assert verification.to == number
        code = code_sent_to(sim, number)

        wrong = service.verification_checks.create(to=number, code="000000" if code != "000000" else "111111")
        assert wrong.status == "pending"
        assert wrong.valid is False

        check = service.verification_checks.create(to=number, code=code)
        assert check.status == "approved"
        assert check.valid is True

        fetched = service.verifications(verification.sid).fetch()
        assert fetched.status == "approved"

        # Conversion per country and channel in /metrics: approved / created.
        metrics = requests.get(server.url + "/metrics", timeout=10).text
        assert 'herald_verification_created_total{country="US",channel="sms"} 1' in metrics, metrics[-3000:]
        assert 'herald_verification_approved_total{country="US",channel="sms"} 1' in metrics
        assert 'herald_verification_checks_total{country="US",channel="sms",result="invalid"} 1' in metrics

        # Twilio's answer to a check of a verification that is no longer pending.
        with pytest.raises(TwilioRestException) as gone:
            service.verification_checks.create(verification_sid=verification.sid, code=code)
        assert gone.value.status == 404
        assert gone.value.code == 20404

        # A landline gets Twilio's 60205 for SMS.
        with pytest.raises(TwilioRestException) as landline:
            service.verifications.create(to="+493012345678", channel="sms")
        assert landline.value.code == 60205

        # Five wrong checks: Twilio's 60202.
        other = "+14155550143"
        created = service.verifications.create(to=other, channel="sms")
        code_sent_to(sim, other)
        for _ in range(5):
            service.verification_checks.create(verification_sid=created.sid, code="000001")
        with pytest.raises(TwilioRestException) as exhausted:
            service.verification_checks.create(verification_sid=created.sid, code="000001")
        assert exhausted.value.code == 60202

        # Bad credentials: Twilio's 20003.
        bad = Client("AC" + "0" * 32, "hk_not_a_key")
        bad.verify.base_url = server.url
        with pytest.raises(TwilioRestException) as unauthorized:
            bad.verify.v2.services(services["login"]).verifications.create(to=number, channel="sms")
        assert unauthorized.value.status == 401
        assert unauthorized.value.code == 20003
    finally:
        server.stop()


def test_payment_code_by_api_and_voice_through_the_simulator(data_dir, sim):
    server = start_herald(data_dir)
    try:
        headers = admin_key(server)
        twilio_provider(server, headers, sim)
        app = {"Authorization": "Bearer " + verify_key(server, headers)}
        number = "+14155550144"
        payment = {"amount": "12.50", "currency": "EUR", "payee": "ACME Ltd"}
        created = server.request("POST", "/v1/verifications", headers=app,
                                 json={"to": number, "purpose": "payment", "payment": payment, "locale": "fr"})
        assert created.status_code == 201, created.text
        body = created.json()
        assert "code" not in body
        texts = wait_for(lambda: [m for m in sim.messages() if m.get("to") == number], 30, message="the payment code")
        text = texts[-1].get("body") or ""
        assert "12.50 EUR" in text and "ACME Ltd" in text, text
        code = re.search(r"\d{6}", text).group(0)
        other_payee = server.request("POST", "/v1/verifications/check", headers=app,
                                     json={"id": body["id"], "code": code, "payment": {**payment, "payee": "Evil Ltd"}})
        assert other_payee.json()["valid"] is False
        good = server.request("POST", "/v1/verifications/check", headers=app, json={"id": body["id"], "code": code, "payment": payment})
        assert good.json() == {"id": body["id"], "status": "approved", "valid": True, "attempts_left": 3}

        # The message shows the code masked; the database never had it in clear.
        message = server.get(f"/v1/messages/{body['message_id']}", headers=headers).json()
        assert code not in message["body"] and "••••••" in message["body"]

        # Voice to a fixed line: the simulator receives a call whose text speaks the digits one by one.
        landline = "+493012345678"
        refused = server.request("POST", "/v1/verifications", headers=app, json={"to": landline, "purpose": "login"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "number_type_not_supported"
        call = server.request("POST", "/v1/verifications", headers=app, json={"to": landline, "purpose": "login", "channel": "voice"})
        assert call.status_code == 201, call.text
        calls = wait_for(lambda: [m for m in sim.messages() if m.get("to") == landline], 30, message="the call")
        spoken = calls[-1].get("body") or ""
        assert re.search(r"(\d, ){5}\d.*(\d, ){5}\d", spoken), spoken
    finally:
        server.stop()
