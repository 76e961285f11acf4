"""The Verifications page in headless Chromium, clicked through as an admin would: send a code,
read it in the outbox, check it (wrong, then right), filter the log, watch the conversion chart,
edit a text with its live segment count, add a test number, lift a fraud-guard block."""
import re
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from browser_support import browser, console_problems, sign_in  # noqa: F401  (browser is a fixture)
from test_dashboard import browser_fetch, css, go, visible


SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def screenshot(browser, name):
    """Saves what the page looks like (not committed) for a person to review."""
    SCREENSHOTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_an_admin_sends_checks_and_manages_verification_codes(herald, browser):
    wait = sign_in(browser, herald)
    go(browser, wait, "verifications", "Verifications")
    assert "No verifications yet" in visible(wait, "#verifications-table-box .empty").text

    # Send a code as an app would.
    css(browser, "#verify-to").send_keys("+14155550100")
    Select(css(browser, "#verify-purpose")).select_by_value("login")
    css(browser, "#verify-send").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#verify-form .notice"), "Code sent to +14155550100"))
    visible(wait, "#check-form")

    # The code arrives in the outbox (no provider configured), the one place it is shown.
    def outbox_code(_):
        entries = browser_fetch(browser, "GET", "/v1/outbox")["body"]["data"]
        return entries and re.search(r"\d{6}", entries[0]["body"])
    code = wait.until(outbox_code).group(0)

    css(browser, "#check-code").send_keys("000000" if code != "000000" else "111111")
    css(browser, "#check-button").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#check-form .notice"), "Not valid: pending, 4 attempts left"))
    css(browser, "#check-code").clear()
    css(browser, "#check-code").send_keys(code)
    css(browser, "#check-button").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#check-form .notice"), "Approved."))
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#verifications-table tr[data-status='approved']")))
    screenshot(browser, "verifications")

    # A payment code with a hostile payee: shown as text, never as markup.
    hostile = "<img src=x onerror=alert(1)>"
    created = browser_fetch(browser, "POST", "/v1/verifications",
                            {"to": "+14155550101", "purpose": "payment", "payment": {"amount": "5.00", "currency": "EUR", "payee": hostile}})
    assert created["status"] == 201, created
    wait.until(EC.text_to_be_present_in_element((By.ID, "verifications-table"), hostile))
    assert browser.find_elements(By.CSS_SELECTOR, "#verifications-table img") == []

    # Filters narrow the log; the conversion chart shows the country and channel.
    Select(css(browser, "#vfilter-status")).select_by_value("approved")
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#verifications-table tbody tr")) == 1)
    Select(css(browser, "#vfilter-status")).select_by_value("")
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#verifications-table tbody tr")) == 2)
    wait.until(EC.text_to_be_present_in_element((By.ID, "conversion-chart"), "US · SMS"))

    # A text: the table shows each one with its encoding; editing shows the count as you type.
    Select(css(browser, "#texts-locale")).select_by_value("de")
    row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#texts-table tr[data-key='sms.login.de']")))
    assert "GSM-7 · 1 segment" in row.text
    row.find_element(By.TAG_NAME, "button").click()
    text_input = visible(wait, "#text-input")
    wait.until(EC.text_to_be_present_in_element((By.ID, "text-count"), "GSM-7"))
    text_input.clear()
    text_input.send_keys("{brand}: Ihr Code {code} 🙂")
    wait.until(EC.text_to_be_present_in_element((By.ID, "text-count"), "UCS-2"))
    screenshot(browser, "verification-text-editor")
    assert "Herald: Ihr Code 123456" in css(browser, "#text-preview").text
    text_input.clear()
    text_input.send_keys("no code here")
    wait.until(EC.text_to_be_present_in_element((By.ID, "text-input-error"), "{code}"))
    text_input.clear()
    text_input.send_keys("{brand}: Ihr Anmeldecode {code}. Nicht weitergeben.")
    css(browser, "#text-save").click()
    wait.until(EC.invisibility_of_element_located((By.ID, "text-dialog")))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#texts-table tr[data-key='sms.login.de']"), "edited"))
    settings = browser_fetch(browser, "GET", "/v1/settings")["body"]
    assert settings["verification"]["texts"] == {"sms.login.de": "{brand}: Ihr Anmeldecode {code}. Nicht weitergeben."}

    # A test number for app-store review.
    css(browser, "#test-number").send_keys("+15005550006")
    css(browser, "#test-code").send_keys("424242")
    css(browser, "#test-number-add").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "test-numbers"), "+15005550006 → 424242"))

    # The fraud guard: a burst on one number range with no approvals blocks it; the admin lifts it.
    browser_fetch(browser, "PATCH", "/v1/settings", {"verification": {"fraud_min_sends": 3}})
    answers = [browser_fetch(browser, "POST", "/v1/verifications", {"to": f"+1650555{7000 + n}", "purpose": "login"})["status"]
               for n in range(5)]
    assert answers.count(429) >= 1, answers
    block = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#blocks-table tr[data-prefix='+1650555']")), "the block")
    block.find_element(By.TAG_NAME, "button").click()
    visible(wait, "#confirm-dialog")
    css(browser, "#confirm-ok").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "blocks-box"), "No number range is blocked"))

    # The outbox says that it shows codes in clear.
    go(browser, wait, "outbox", "Outbox")
    assert "shown here in clear" in visible(wait, "#outbox-codes-note").text
    assert console_problems(browser) == []


def sign_in_as(browser, herald, email, password):
    browser.delete_all_cookies()
    browser.get(herald.url + "/")
    from selenium.webdriver.support.ui import WebDriverWait
    wait = WebDriverWait(browser, 10)
    visible(wait, "#login-form")
    css(browser, "#email").send_keys(email)
    css(browser, "#password").send_keys(password)
    css(browser, "#login-button").click()
    visible(wait, "#home-view")
    return wait


def test_roles_see_what_they_may_do(herald, browser):
    wait = sign_in(browser, herald)
    for email, role in (("viewer@example.com", "viewer"), ("marketer@example.com", "marketer")):
        created = browser_fetch(browser, "POST", "/v1/users", {"email": email, "password": "a long enough password", "role": role})
        assert created["status"] == 201, created

    # A viewer reads the log and the conversion, and finds nothing to send or change.
    wait = sign_in_as(browser, herald, "viewer@example.com", "a long enough password")
    go(browser, wait, "verifications", "Verifications")
    visible(wait, "#verification-filters")
    visible(wait, "#conversion-chart")
    for absent in ("#verify-form", "#blocks-box", "#test-number-form", "#texts-box"):
        assert browser.find_elements(By.CSS_SELECTOR, absent) == [], absent
    refused = browser_fetch(browser, "POST", "/v1/verifications", {"to": "+14155550100", "purpose": "login"})
    assert refused["status"] == 403
    # Campaigns are there to read, with nothing to launch.
    go(browser, wait, "campaigns", "Campaigns")
    visible(wait, "#campaigns-list .empty")
    assert browser.find_elements(By.ID, "campaign-new") == []
    assert browser_fetch(browser, "POST", "/v1/campaigns", {"name": "x", "template_id": "00000000-0000-0000-0000-000000000000"})["status"] == 403

    # Admin pages are absent for both; a deep link to one lands on Messages.
    admin_pages = ("outbox", "providers", "settings", "users", "api-keys", "audit")
    for page in admin_pages:
        assert not css(browser, f"#nav-{page}").is_displayed(), page
    browser.get(herald.url + "/#/providers")
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Messages"))

    # A marketer has no verifications scope: the page is not in the navigation.
    wait = sign_in_as(browser, herald, "marketer@example.com", "a long enough password")
    assert not css(browser, "#nav-verifications-item").is_displayed()
    for page in admin_pages:
        assert not css(browser, f"#nav-{page}").is_displayed(), page
    for page in ("messages", "contacts", "segments", "templates", "campaigns"):
        assert css(browser, f"#nav-{page}").is_displayed(), page
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Messages"))
    assert console_problems(browser) == []
