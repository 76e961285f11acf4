"""The admin dashboard in headless Chromium, clicked through as a person would: messages,
outbox, providers, settings. Every change goes through the cookie session, so it only works
because the app sends X-CSRF-Token (checked directly at the end)."""
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser_support import browser, console_problems, sign_in  # noqa: F401  (browser is a fixture)

ACCOUNT_SID = "AC" + "0" * 32


def css(browser, selector):
    return browser.find_element(By.CSS_SELECTOR, selector)


def visible(wait, selector):
    return wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))


def field_error(browser, control_id) -> str:
    """The error text shown under the control with this id (empty when none)."""
    error = browser.find_element(By.ID, control_id + "-error")
    return error.text if error.is_displayed() else ""


def go(browser, wait, route, title):
    browser.find_element(By.ID, "nav-" + route).click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), title))


def browser_fetch(browser, method, path, body=None, csrf=True) -> dict:
    """Calls the API from the page with the session cookie, with or without the CSRF header."""
    return browser.execute_async_script("""
        const [method, path, body, csrf, done] = arguments;
        const headers = {'Content-Type': 'application/json'};
        if (csrf) headers['X-CSRF-Token'] = (await (await fetch('/auth/me')).json()).csrf_token;
        const response = await fetch(path, {method, headers, body: body === null ? undefined : JSON.stringify(body)});
        const text = await response.text();
        done({status: response.status, body: text ? JSON.parse(text) : null});
    """, method, path, body, csrf)


def test_a_new_user_sees_the_outbox_then_sends_a_message_that_arrives_there(herald, browser):
    wait = sign_in(browser, herald)
    # No provider yet: the first page is the outbox, explaining itself.
    wait.until(EC.url_contains("#/outbox"))
    banner = visible(wait, "#outbox-banner .callout")
    assert "No SMS provider" in banner.text
    assert "outbox is empty" in visible(wait, "#outbox-list .empty").text

    go(browser, wait, "messages", "Messages")
    assert "No messages yet" in visible(wait, "#messages-table-box .empty").text

    # The segment counter follows the text as it is typed.
    body = browser.find_element(By.ID, "send-body")
    body.send_keys("Привет")
    wait.until(EC.text_to_be_present_in_element((By.ID, "body-count"), "UCS-2"))
    body.clear()
    body.send_keys("x")  # clear() fires no input event; typing does
    body.send_keys(Keys.BACKSPACE)
    body.send_keys("a" * 161)
    wait.until(EC.text_to_be_present_in_element((By.ID, "body-count"), "161 characters · GSM-7 · 2 segments"))
    body.clear()
    body.send_keys("Your parcel is out for delivery")
    wait.until(EC.text_to_be_present_in_element((By.ID, "body-count"), "31 characters · GSM-7 · 1 segment"))

    # A bad number: the server's error shows under the To field.
    browser.find_element(By.ID, "send-to").send_keys("12")
    browser.find_element(By.ID, "send-button").click()
    wait.until(lambda b: field_error(b, "send-to"))
    assert "to" in field_error(browser, "send-to")
    assert browser.find_element(By.ID, "send-to").get_attribute("aria-invalid") == "true"

    to = browser.find_element(By.ID, "send-to")
    to.clear()
    to.send_keys("+14155550100")
    browser.find_element(By.ID, "send-button").click()
    assert "Queued for +14155550100" in visible(wait, "#send-form .notice").text
    assert field_error(browser, "send-to") == ""

    row = visible(wait, "#messages-table tbody tr[data-id]")
    assert "+14155550100" in row.text
    # The built-in dispatcher hands it to the outbox within a second or two; the list refreshes itself.
    WebDriverWait(browser, 20).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#messages-table tbody tr[data-id]").get_attribute("data-status") == "sent")
    row = css(browser, "#messages-table tbody tr[data-id]")
    assert css(browser, "#messages-table tbody tr[data-id] .chip").text == "sent"
    assert "1 × GSM-7" in row.text
    chart_bar = css(browser, "#status-chart svg .bar-sent")
    assert chart_bar.get_attribute("data-value") == "1"

    # Details open from the row, with the body.
    row.click()
    visible(wait, "#message-dialog[open] #message-detail")
    assert css(browser, "#message-detail-body").text == "Your parcel is out for delivery"
    assert "sent" in css(browser, "#message-detail").text
    browser.find_element(By.ID, "message-dialog-close").click()
    wait.until(EC.invisibility_of_element_located((By.ID, "message-dialog")))

    # Filters: nothing failed; the number filter finds it.
    Select(browser.find_element(By.ID, "filter-status")).select_by_value("failed")
    assert "No messages match" in visible(wait, "#messages-table-box .empty").text
    Select(browser.find_element(By.ID, "filter-status")).select_by_value("")
    browser.find_element(By.ID, "filter-to").send_keys("+14155550100\n")
    visible(wait, "#messages-table tbody tr[data-id]")

    go(browser, wait, "outbox", "Outbox")
    item = visible(wait, "#outbox-items .outbox-item")
    assert "Your parcel is out for delivery" in item.text
    assert "+14155550100" in item.text
    assert console_problems(browser) == []


def add_provider(browser, wait, name, type_, config: dict):
    browser.find_element(By.ID, "add-provider").click()
    visible(wait, "#provider-form[data-mode=add]")
    browser.find_element(By.ID, "provider-name").send_keys(name)
    Select(browser.find_element(By.ID, "provider-type")).select_by_value(type_)
    for key, value in config.items():
        browser.find_element(By.ID, "provider-config-" + key).send_keys(value)
    browser.find_element(By.ID, "provider-save").click()


def provider_row(browser, name):
    return css(browser, f'#providers-table tbody tr[data-name="{name}"]')


def switch_state(browser, name):
    """aria-checked of a provider's enabled switch, read in one step (the list re-renders)."""
    return browser.execute_script(
        "return document.querySelector(`#providers-table tr[data-name='${arguments[0]}'] [role=switch]`)?.getAttribute('aria-checked')",
        name)


def test_providers_add_edit_disable_test_and_delete(herald, browser):
    wait = sign_in(browser, herald)
    go(browser, wait, "providers", "Providers")
    assert "No providers yet" in visible(wait, "#providers-table-box .empty").text

    # The outbox type has no settings at all.
    add_provider(browser, wait, "Local outbox", "outbox", {})
    visible(wait, "#provider-form[data-mode=edit]")
    assert "Added Local outbox" in visible(wait, "#provider-form-notice").text
    row = provider_row(browser, "Local outbox")
    assert "None needed" in row.text
    row.find_element(By.CSS_SELECTOR, "[data-action=test]").click()
    test_to = visible(wait, "tr.test-row input")
    test_to.send_keys("+14155550100\n")
    assert visible(wait, "tr.test-row .provider-message-id").text == "outbox-test"

    # Twilio without its account SID: the error names config.account_sid, by the right input.
    browser.find_element(By.ID, "provider-cancel").click()
    add_provider(browser, wait, "Twilio test", "twilio",
                 {"auth_token": "secret-token", "from": "+15005550006", "base_url": "http://127.0.0.1:9"})
    wait.until(lambda b: field_error(b, "provider-config-account_sid"))
    assert "config.account_sid" in field_error(browser, "provider-config-account_sid")
    browser.find_element(By.ID, "provider-config-account_sid").send_keys(ACCOUNT_SID)
    browser.find_element(By.ID, "provider-save").click()
    visible(wait, "#provider-form[data-mode=edit]")
    # Saved: the secret reads back redacted, the rest as typed.
    assert browser.find_element(By.ID, "provider-config-auth_token").get_attribute("value") == "********"
    assert browser.find_element(By.ID, "provider-config-account_sid").get_attribute("value") == ACCOUNT_SID
    row = provider_row(browser, "Twilio test")
    assert "/webhooks/" in row.find_element(By.CSS_SELECTOR, ".webhooks").text
    assert len(row.find_elements(By.CSS_SELECTOR, ".webhooks button.copy")) == 2

    # Edit with the redacted secret sent back: it is kept; a changed field is saved.
    priority = browser.find_element(By.ID, "provider-priority")
    priority.clear()
    priority.send_keys("5")
    browser.find_element(By.ID, "provider-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "provider-form-notice"), "Saved Twilio test"))
    assert browser.find_element(By.ID, "provider-config-auth_token").get_attribute("value") == "********"
    twilio_id = provider_row(browser, "Twilio test").get_attribute("data-id")
    stored = browser_fetch(browser, "GET", f"/v1/providers/{twilio_id}")["body"]
    assert stored["priority"] == 5 and stored["config"]["auth_token"] == "********"
    assert stored["config"]["account_sid"] == ACCOUNT_SID

    # Disable and enable again from the list.
    provider_row(browser, "Twilio test").find_element(By.CSS_SELECTOR, "[data-action=toggle]").click()
    wait.until(lambda b: switch_state(b, "Twilio test") == "false")
    assert browser_fetch(browser, "GET", f"/v1/providers/{twilio_id}")["body"]["enabled"] is False
    provider_row(browser, "Twilio test").find_element(By.CSS_SELECTOR, "[data-action=toggle]").click()
    wait.until(lambda b: switch_state(b, "Twilio test") == "true")
    assert browser_fetch(browser, "GET", f"/v1/providers/{twilio_id}")["body"]["enabled"] is True

    # A server-side config error lands by its field too.
    browser.find_element(By.ID, "provider-cancel").click()
    add_provider(browser, wait, "Webhook sender", "http",
                 {"url": "http://127.0.0.1:9/send", "headers": '{"bad header": "x"}'})
    wait.until(lambda b: field_error(b, "provider-config-headers"))
    assert "config.headers" in field_error(browser, "provider-config-headers")
    browser.find_element(By.ID, "provider-cancel").click()

    # Delete, after confirming.
    provider_row(browser, "Twilio test").find_element(By.CSS_SELECTOR, "[data-action=delete]").click()
    visible(wait, "#confirm-dialog[open]")
    browser.find_element(By.ID, "confirm-cancel").click()
    assert provider_row(browser, "Twilio test")
    provider_row(browser, "Twilio test").find_element(By.CSS_SELECTOR, "[data-action=delete]").click()
    visible(wait, "#confirm-dialog[open]")
    browser.find_element(By.ID, "confirm-ok").click()
    wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, '#providers-table tr[data-name="Twilio test"]'))
    assert browser_fetch(browser, "GET", f"/v1/providers/{twilio_id}")["status"] == 404
    assert provider_row(browser, "Local outbox")
    assert console_problems(browser) == []


def test_settings_are_saved_and_bad_values_are_shown_by_their_field(herald, browser):
    wait = sign_in(browser, herald)
    go(browser, wait, "settings", "Settings")
    brand = visible(wait, "#settings-brand")
    assert brand.get_attribute("value") == "Herald"
    secret = browser.find_element(By.ID, "settings-signing-secret")
    assert secret.get_attribute("value") and secret.get_attribute("readonly") is not None

    # Nothing changed: nothing sent.
    browser.find_element(By.ID, "settings-save").click()
    assert "Nothing changed" in visible(wait, "#settings-notice").text

    brand.clear()
    brand.send_keys("Acme Parcels")
    browser.find_element(By.ID, "settings-events-url").send_keys("https://example.com/herald-events")
    browser.find_element(By.ID, "settings-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "settings-notice"), "Settings saved"))

    browser.refresh()
    wait.until(EC.visibility_of_element_located((By.ID, "settings-brand")))
    assert browser.find_element(By.ID, "settings-brand").get_attribute("value") == "Acme Parcels"
    assert browser.find_element(By.ID, "settings-events-url").get_attribute("value") == "https://example.com/herald-events"

    events = browser.find_element(By.ID, "settings-events-url")
    events.clear()
    events.send_keys("ftp://example.com/x")
    browser.find_element(By.ID, "settings-save").click()
    wait.until(lambda b: field_error(b, "settings-events-url"))
    assert "events_url" in field_error(browser, "settings-events-url")
    assert "http" in field_error(browser, "settings-events-url")

    countries = browser.find_element(By.ID, "settings-countries")
    events.clear()
    countries.send_keys("US, ZZ")
    browser.find_element(By.ID, "settings-save").click()
    wait.until(lambda b: field_error(b, "settings-countries"))
    assert "allowed_countries[1]" in field_error(browser, "settings-countries")
    assert field_error(browser, "settings-events-url") == ""

    countries.clear()
    countries.send_keys("us, de")
    browser.find_element(By.ID, "settings-opt_out-reply").send_keys("You are unsubscribed.")
    browser.find_element(By.ID, "settings-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "settings-notice"), "Settings saved"))
    stored = browser_fetch(browser, "GET", "/v1/settings")["body"]
    assert stored["allowed_countries"] == ["US", "DE"]
    assert stored["events_url"] is None  # emptied above
    assert stored["brand"] == "Acme Parcels"
    assert stored["opt_out"]["reply"] == "You are unsubscribed."
    assert "STOP" in stored["opt_out"]["keywords"]
    assert console_problems(browser) == []


def test_changes_need_the_csrf_token_the_dashboard_sends(herald, browser):
    sign_in(browser, herald)
    refused = browser_fetch(browser, "PATCH", "/v1/settings", {"brand": "No token"}, csrf=False)
    assert refused["status"] == 403 and refused["body"]["error"]["code"] == "csrf_failed"
    refused = browser_fetch(browser, "POST", "/v1/messages", {"to": "+14155550100", "body": "x"}, csrf=False)
    assert refused["status"] == 403
    accepted = browser_fetch(browser, "PATCH", "/v1/settings", {"brand": "With token"})
    assert accepted["status"] == 200 and accepted["body"]["brand"] == "With token"


def test_a_failed_message_shows_its_error_and_provider_code(herald, browser):
    from messaging_support import psql
    psql(herald.data_dir, """
        INSERT INTO messages (to_number, country, body, channel, kind, priority, status, encoding, segments, characters,
                              attempts, error_code, error_message, provider_error_code)
        VALUES ('+14155550199', 'US', 'Your order shipped', 'sms', 'transactional', 0, 'failed', 'GSM-7', 1, 18,
                3, 'invalid_number', 'The number is not a mobile number', '21614')""")
    wait = sign_in(browser, herald)
    go(browser, wait, "messages", "Messages")
    row = visible(wait, "#messages-table tbody tr[data-status=failed]")
    assert "invalid_number (21614)" in row.text
    assert css(browser, "#status-chart svg .bar-failed").get_attribute("data-value") == "1"
    row.send_keys(Keys.ENTER)  # rows open from the keyboard too
    panel = visible(wait, "#message-dialog[open] #message-detail-error")
    assert "invalid_number" in panel.text and "21614" in panel.text
    assert "The number is not a mobile number" in panel.text
    assert console_problems(browser) == []
