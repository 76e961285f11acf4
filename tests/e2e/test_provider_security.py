"""Provider secrets in the dashboard: moving a provider needs its secrets again, and a provider
whose secrets no longer decrypt (HERALD_SECRET changed) is marked broken and repaired by typing
them again."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from browser_support import browser, console_problems, sign_in  # noqa: F401  (browser is a fixture)
from test_dashboard import ACCOUNT_SID, browser_fetch, field_error, go, provider_row, visible


def row_status(browser, name):
    """data-status of a provider's row, read in one step (the list re-renders)."""
    return browser.execute_script(
        "return document.querySelector(`#providers-table tr[data-name='${arguments[0]}']`)?.dataset.status",
        name)


def test_a_provider_whose_secrets_no_longer_decrypt_is_marked_broken_and_repaired(herald, browser):
    wait = sign_in(browser, herald)
    created = browser_fetch(browser, "POST", "/v1/providers", {
        "name": "Twilio test", "type": "twilio",
        "config": {"account_sid": ACCOUNT_SID, "auth_token": "first-token", "from": "+15005550006",
                   "base_url": "http://127.0.0.1:9"}})
    assert created["status"] == 201
    provider_id = created["body"]["id"]

    # Pointing it elsewhere with the secret left at ********: refused, by the secret's field.
    go(browser, wait, "providers", "Providers")
    wait.until(lambda b: row_status(b, "Twilio test") == "ok")
    provider_row(browser, "Twilio test").find_element(By.CSS_SELECTOR, "[data-action=edit]").click()
    visible(wait, "#provider-form[data-mode=edit]")
    base_url = browser.find_element(By.ID, "provider-config-base_url")
    base_url.clear()
    base_url.send_keys("http://127.0.0.1:10")
    browser.find_element(By.ID, "provider-save").click()
    wait.until(lambda b: field_error(b, "provider-config-auth_token"))
    assert "config.auth_token" in field_error(browser, "provider-config-auth_token")
    assert browser_fetch(browser, "GET", f"/v1/providers/{provider_id}")["body"]["config"]["base_url"] == "http://127.0.0.1:9"

    # The same Herald with another HERALD_SECRET: the stored secret no longer opens.
    herald.stop()
    environment = herald.env
    herald.env = lambda: {**environment(), "HERALD_SECRET": "a-different-secret-of-sufficient-length"}
    herald.start()
    browser.delete_all_cookies()
    wait = sign_in(browser, herald)
    go(browser, wait, "providers", "Providers")
    wait.until(lambda b: row_status(b, "Twilio test") == "broken")
    row = provider_row(browser, "Twilio test")
    assert "Broken" in row.text
    assert "re-enter the secrets" in row.text
    assert "Refused until repaired" in row.text
    stored = browser_fetch(browser, "GET", f"/v1/providers/{provider_id}")["body"]
    assert stored["status"] == "broken" and stored["error"]["code"] == "secrets_unreadable"

    # Repair: the form asks for the secret again; saving it makes the provider whole.
    row.find_element(By.CSS_SELECTOR, "[data-action=repair]").click()
    assert "re-enter the secrets" in visible(wait, "#provider-broken-note").text
    token = browser.find_element(By.ID, "provider-config-auth_token")
    assert token.get_attribute("value") == ""
    token.send_keys("fresh-token")
    browser.find_element(By.ID, "provider-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "provider-form-notice"), "Saved Twilio test"))
    wait.until(lambda b: row_status(b, "Twilio test") == "ok")
    assert browser.find_element(By.ID, "provider-config-auth_token").get_attribute("value") == "********"
    assert not browser.find_elements(By.ID, "provider-broken-note")
    stored = browser_fetch(browser, "GET", f"/v1/providers/{provider_id}")["body"]
    assert stored["status"] == "ok" and stored["error"] is None
    assert console_problems(browser) == []
