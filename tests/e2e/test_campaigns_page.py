"""The Campaigns page in headless Chromium, as a marketer would use it: create a campaign
(template → audience → schedule → review with the estimate and every exclusion), launch it and
watch it complete into the outbox, read the recipient log with its filters; then pause, resume
and cancel a throttled one. A campaign named with markup is shown as text."""
import json
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from browser_support import browser, console_problems, sign_in  # noqa: F401  (browser is a fixture)
from test_dashboard import browser_fetch, css, go, visible

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
HOSTILE = "<img src=x onerror=alert(1)>"


def screenshot(browser, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def seed(browser):
    """A marketing template and 30 contacts: 28 reachable, one unsubscribed, one landline."""
    template = browser_fetch(browser, "POST", "/v1/templates",
                             {"name": "winter-sale", "kind": "marketing", "body": "Hi {{first_name}}, winter sale today!"})
    assert template["status"] == 201, template
    created = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const csrf = (await (await fetch('/auth/me')).json()).csrf_token;
        const headers = {'Content-Type': 'application/json', 'X-CSRF-Token': csrf};
        const statuses = [];
        for (let i = 0; i < 28; i++) {
          const r = await fetch('/v1/contacts', {method: 'POST', headers,
            body: JSON.stringify({phone: '+1415' + (4000000 + i), first_name: 'Person' + i, tags: ['winter']})});
          statuses.push(r.status);
        }
        let r = await fetch('/v1/contacts', {method: 'POST', headers, body: JSON.stringify({phone: '+493012345678', tags: ['winter']})});
        statuses.push(r.status);
        r = await fetch('/v1/contacts', {method: 'POST', headers, body: JSON.stringify({phone: '+14154999999', tags: ['winter']})});
        const gone = await r.json();
        statuses.push(r.status);
        r = await fetch('/v1/contacts/' + gone.id + '/unsubscribe', {method: 'POST', headers, body: '{}'});
        statuses.push(r.status);
        done(statuses);
    """)
    assert created == [201] * 30 + [200], created
    return template["body"]["id"]


def test_create_review_launch_watch_and_pause(herald, browser):
    wait = sign_in(browser, herald, timeout=30)
    seed(browser)
    go(browser, wait, "campaigns", "Campaigns")
    visible(wait, "#campaigns-list .empty")

    # Create: a mistake is shown by its field and nothing is created.
    css(browser, "#campaign-new").click()
    visible(wait, "#campaign-form")
    css(browser, "#campaign-name").send_keys(HOSTILE)
    Select(css(browser, "#campaign-quiet")).select_by_value("custom")
    quiet_start = css(browser, "#campaign-quiet-start")
    quiet_start.clear()
    quiet_start.send_keys("25:00")
    css(browser, "#campaign-review").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "campaign-quiet-start-error"), "time like 21:00"))
    assert browser_fetch(browser, "GET", "/v1/campaigns")["body"]["data"] == []

    # Now properly: send now, no quiet hours (the test must not depend on the time of day).
    Select(css(browser, "#campaign-quiet")).select_by_value("none")
    css(browser, "#campaign-review").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "estimate-recipients"), "28 recipients"))
    exclusions = {row.get_attribute("data-reason"): row.find_element(By.CSS_SELECTOR, "td").text
                  for row in browser.find_elements(By.CSS_SELECTOR, "#estimate-exclusions tr")}
    assert exclusions == {"unsubscribed": "1", "invalid_number": "0", "not_mobile": "1", "frequency_capped": "0"}
    assert "28 SMS parts" in css(browser, "#estimate-segments").text
    assert HOSTILE in css(browser, "#review-title").text
    assert browser.find_elements(By.CSS_SELECTOR, "#campaigns-view img") == []
    screenshot(browser, "campaign-review")
    css(browser, "#campaign-launch").click()

    # Detail: live progress until every recipient is done (the outbox provider "sends" them).
    visible(wait, "#campaign-progress")
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "completed"))
    wait.until(EC.text_to_be_present_in_element((By.ID, "campaign-progress-text"), "28 of 28 done (100%)"))
    assert css(browser, "#campaign-progress").get_attribute("value") == "100"
    assert css(browser, "#campaign-chart .bar-sent").get_attribute("data-value") == "28"
    assert css(browser, "#campaign-chart .bar-excluded").get_attribute("data-value") == "2"
    screenshot(browser, "campaign-detail")
    # The address names the campaign: a reload opens it again.
    assert "#/campaigns/" in browser.current_url
    browser.refresh()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "completed"))
    assert HOSTILE in css(browser, "#detail-title").text
    # The navigation's Campaigns link goes back to the list; the browser's back button to the detail.
    css(browser, "#nav-campaigns").click()
    visible(wait, "#campaigns-table")
    browser.back()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "completed"))

    # The recipient log, filtered.
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#recipients-table tbody tr")) == 30)
    Select(css(browser, "#recipient-filter")).select_by_value("excluded")
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#recipients-table tbody tr")) == 2)
    log = css(browser, "#recipients-table").text
    assert "unsubscribed" in log and "not a mobile number" in log
    outbox = browser_fetch(browser, "GET", "/v1/outbox?limit=100")["body"]["data"]
    assert len(outbox) == 28 and all("winter sale today!" in entry["body"] for entry in outbox)
    assert any(entry["body"].startswith("Hi Person0,") for entry in outbox)

    # A throttled campaign: pause, resume, cancel from the detail view.
    css(browser, "#campaign-list").click()
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#campaigns-table tbody tr")) == 1)
    css(browser, "#campaign-new").click()
    visible(wait, "#campaign-form")
    css(browser, "#campaign-name").send_keys("Slow drip")
    css(browser, "#campaign-throttle").send_keys("1")
    Select(css(browser, "#campaign-quiet")).select_by_value("none")
    css(browser, "#campaign-review").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "estimate-recipients"), "28 recipients"))
    css(browser, "#campaign-launch").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "sending"))
    visible(wait, "#campaign-pause").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "paused"))
    done_when_paused = css(browser, "#campaign-progress-text").text
    assert "of 28 done" in done_when_paused and "28 of 28" not in done_when_paused
    visible(wait, "#campaign-resume").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "sending"))
    visible(wait, "#campaign-cancel").click()
    visible(wait, "#confirm-ok").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "canceled"))
    campaigns = browser_fetch(browser, "GET", "/v1/campaigns")["body"]["data"]
    slow = next(c for c in campaigns if c["name"] == "Slow drip")
    assert slow["stats"]["sent"] + slow["stats"]["skipped"] + slow["stats"]["queued"] + slow["stats"]["sending"] == 28, json.dumps(slow["stats"])
    assert slow["stats"]["sent"] < 28
    screenshot(browser, "campaign-canceled")

    # The list shows both with their status.
    css(browser, "#campaign-list").click()
    wait.until(lambda b: {r.get_attribute("data-status") for r in b.find_elements(By.CSS_SELECTOR, "#campaigns-table tbody tr")}
               == {"completed", "canceled"})
    assert HOSTILE in css(browser, "#campaigns-table").text
    assert browser.find_elements(By.CSS_SELECTOR, "#campaigns-table img") == []

    forged = browser_fetch(browser, "POST", f"/v1/campaigns/{slow['id']}/resume", None, csrf=False)
    assert forged["status"] == 403
    assert console_problems(browser) == []


def test_template_editor_live_preview_for_a_contact(herald, browser):
    wait = sign_in(browser, herald, timeout=30)
    contact = browser_fetch(browser, "POST", "/v1/contacts",
                            {"phone": "+4915112345678", "first_name": "Jonas", "locale": "de", "attributes": {"plan": "pro"}})
    assert contact["status"] == 201
    go(browser, wait, "templates", "Templates")
    css(browser, "#template-name").send_keys("winter_offer")
    # A curly apostrophe and an en dash force UCS-2: marked, and the fix offered.
    css(browser, "#template-body").send_keys("Hi {{first_name}}, it’s our {{plan}} sale – today only")
    wait.until(EC.text_to_be_present_in_element((By.ID, "template-meter"), "UCS-2"))
    marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, "#template-preview-text mark.non-gsm")]
    assert marks == ["’", "–"]
    assert "(with the opt-out footer)" in css(browser, "#template-meter").text
    visible(wait, "#template-apply-smart").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "template-meter"), "GSM-7"))
    assert css(browser, "#template-body").get_attribute("value") == "Hi {{first_name}}, it's our {{plan}} sale - today only"

    # A translation, previewed with the German contact's own data and language.
    css(browser, "#template-add-translation").click()
    css(browser, "#template-translations .translation-locale").send_keys("de")
    css(browser, "#template-translations .translation-text").send_keys("Hallo {{first_name}}, {{plan}}-Rabatt heute")
    wait.until(lambda b: len(Select(css(b, "#template-sample")).options) == 2)
    Select(css(browser, "#template-sample")).select_by_index(1)
    wait.until(EC.text_to_be_present_in_element((By.ID, "template-preview-text"), "Hallo Jonas, pro-Rabatt heute\nReply STOP to opt out"))
    screenshot(browser, "template-editor")

    # Broken syntax is pointed at, then the template saves and lists.
    body = css(browser, "#template-body")
    body.send_keys(" {{#oops}")
    wait.until(lambda b: css(b, "#template-preview-error").is_displayed())
    assert "invalid" in css(browser, "#template-preview-error").text.lower() or "body" in css(browser, "#template-preview-error").text
    for _ in range(len(" {{#oops}")):
        body.send_keys("\ue003")  # backspace
    wait.until(lambda b: not css(b, "#template-preview-error").is_displayed())
    css(browser, "#template-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "templates-table"), "winter_offer"))
    row = css(browser, "#templates-table tr[data-name='winter_offer']")
    assert "default, de" in row.text and "GSM-7" in row.text
    assert console_problems(browser) == []
