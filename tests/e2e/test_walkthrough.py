"""One person's walk through the whole dashboard in headless Chromium, as the product is used:
first login and the forced password change; the simulator added as a provider and test-sent;
1,000 contacts imported with the progress bar; a segment and its count; a template whose
encoding and segments change when an emoji is typed; a campaign created, launched, paused,
resumed and watched to 100 %; a verification whose code shows in the outbox; an API key created
and revoked; a viewer who finds no launch button (and whom the API refuses); the audit log of it
all; the overview's charts; every page on a phone; sign-out. A screenshot of every page goes to
screenshots/ (not committed). User data with markup is shown as text everywhere."""
import re
from pathlib import Path

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser_support import browser, choose_new_password, console_problems  # noqa: F401  (browser is a fixture)
from conftest import ADMIN_PASSWORD
from messaging_support import ACCOUNT_SID, SIM_TOKEN, ProviderSim
from test_dashboard import browser_fetch, css, go, visible
from test_verifications_page import sign_in_as

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
HOSTILE = "<img src=x onerror=alert(1)>"
SCRIPT_BODY = "Deal </script><script>alert(1)</script> today"
PAGES = [("overview", "Overview"), ("messages", "Messages"), ("verifications", "Verifications"), ("contacts", "Contacts"),
         ("segments", "Segments"), ("templates", "Templates"), ("campaigns", "Campaigns"), ("outbox", "Outbox"),
         ("providers", "Providers"), ("settings", "Settings"), ("users", "Users"), ("api-keys", "API keys"), ("audit", "Audit log")]


def shot(browser, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"walk-{name}.png"))


def no_markup_ran(browser):
    """Nothing user-supplied became an element: no <img> anywhere, and the only script is the app."""
    assert browser.find_elements(By.CSS_SELECTOR, "#page img, dialog img") == []
    assert browser.execute_script("return document.querySelectorAll('script').length") == 1


def test_a_person_walks_through_everything(herald, browser, tmp_path):
    sim = ProviderSim().start()
    try:
        walk(herald, browser, tmp_path, sim)
    except Exception:
        shot(browser, "failed")
        print("PAGE TEXT:", browser.find_element(By.ID, "page").text[-1500:])
        raise
    finally:
        sim.stop()


def walk(herald, browser, tmp_path, sim):
    # First login: the printed password must be replaced before anything else.
    email, printed = herald.first_login
    browser.get(herald.url + "/")
    wait = WebDriverWait(browser, 30)
    visible(wait, "#login-form")
    shot(browser, "00-login")
    css(browser, "#email").send_keys(email)
    css(browser, "#password").send_keys(printed)
    css(browser, "#login-button").click()
    visible(wait, "#password-form")
    shot(browser, "01-password-change")
    choose_new_password(browser, wait, ADMIN_PASSWORD)
    herald.admin_password = ADMIN_PASSWORD
    visible(wait, "#home-view")
    # Nothing sent yet: the first page is the outbox, where messages land until a provider exists.
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Outbox"))

    # Providers: the simulator (as Twilio, for GB numbers) and test-send through it; the outbox
    # for everything else.
    go(browser, wait, "providers", "Providers")
    css(browser, "#add-provider").click()
    visible(wait, "#provider-form[data-mode=add]")
    css(browser, "#provider-name").send_keys("Simulator")
    Select(css(browser, "#provider-type")).select_by_value("twilio")
    for key, value in {"account_sid": ACCOUNT_SID, "auth_token": SIM_TOKEN, "from": "+15005550006", "base_url": sim.url}.items():
        css(browser, f"#provider-config-{key}").send_keys(value)
    css(browser, "#provider-countries").send_keys("GB")
    css(browser, "#provider-save").click()
    visible(wait, "#provider-form[data-mode=edit]")
    css(browser, '#providers-table tbody tr[data-name="Simulator"] [data-action=test]').click()
    visible(wait, "tr.test-row input").send_keys("+447911123456\n")
    assert visible(wait, "tr.test-row .provider-message-id").text.startswith("SM")
    assert any(m.get("to") == "+447911123456" for m in sim.messages())
    css(browser, "#provider-cancel").click()
    css(browser, "#add-provider").click()
    visible(wait, "#provider-form[data-mode=add]")
    css(browser, "#provider-name").send_keys("Outbox")
    Select(css(browser, "#provider-type")).select_by_value("outbox")
    css(browser, "#provider-save").click()
    visible(wait, "#provider-form[data-mode=edit]")
    shot(browser, "02-providers")

    # Contacts: 1,000 imported, one of them named with markup; the progress bar reaches the end.
    rows = ["phone,first_name,tags"]
    rows += [f"+1415{3000000 + i},Person{i},{'walkers' if i % 50 == 0 else 'news'}" for i in range(999)]
    rows += [f'+14153999998,"{HOSTILE.replace(chr(34), chr(34) * 2)}",walkers']
    csv = tmp_path / "contacts.csv"
    csv.write_text("\n".join(rows) + "\n")
    go(browser, wait, "contacts", "Contacts")
    css(browser, "#import-file").send_keys(str(csv))
    css(browser, "#import-button").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "import-progress-text"), "Done"))
    assert css(browser, "#import-progress").get_attribute("value") == "100"
    wait.until(EC.text_to_be_present_in_element((By.ID, "import-form"), "1,000 rows: 1,000 new"))
    css(browser, "#contacts-search").send_keys("3999998\n")
    wait.until(EC.text_to_be_present_in_element((By.ID, "contacts-table"), HOSTILE))
    no_markup_ran(browser)
    shot(browser, "03-contacts")

    # A segment with its live count.
    go(browser, wait, "segments", "Segments")
    Select(css(browser, "#segment-conditions .condition-field")).select_by_value("tags")
    Select(css(browser, "#segment-conditions .condition-op")).select_by_value("has")
    css(browser, "#segment-conditions .condition-value").send_keys("walkers")
    wait.until(EC.text_to_be_present_in_element((By.ID, "segment-count"), "21 contacts · 21 subscribed"))
    css(browser, "#segment-name").send_keys("Walkers")
    css(browser, "#segment-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "segments-table"), "Walkers"))
    no_markup_ran(browser)
    shot(browser, "04-segments")

    # A template: typing an emoji switches GSM-7 to UCS-2 and changes the count.
    go(browser, wait, "templates", "Templates")
    css(browser, "#template-name").send_keys("walk_offer")
    Select(css(browser, "#template-kind")).select_by_value("marketing")
    css(browser, "#template-body").send_keys("Hi {{first_name}}, our spring walk starts today")
    wait.until(EC.text_to_be_present_in_element((By.ID, "template-meter"), "GSM-7"))
    before = css(browser, "#template-meter").text
    # ChromeDriver types only the Basic Multilingual Plane: the emoji goes in as a keyboard would put it.
    browser.execute_script("""
        const body = document.getElementById('template-body');
        body.focus();
        body.setRangeText('\\u{1F6B6}', body.value.length, body.value.length, 'end');
        body.dispatchEvent(new InputEvent('input', {bubbles: true, inputType: 'insertText', data: '\\u{1F6B6}'}));
    """)
    wait.until(EC.text_to_be_present_in_element((By.ID, "template-meter"), "UCS-2"))
    after = css(browser, "#template-meter").text
    assert before != after, (before, after)
    css(browser, "#template-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "templates-table"), "walk_offer"))
    # A template whose text closes a script element is shown as that text.
    made = browser_fetch(browser, "POST", "/v1/templates", {"name": "script_test", "kind": "transactional", "body": SCRIPT_BODY})
    assert made["status"] == 201, made
    go(browser, wait, "messages", "Messages")
    go(browser, wait, "templates", "Templates")
    wait.until(EC.text_to_be_present_in_element((By.ID, "templates-table"), "script_test"))
    css(browser, '#templates-table tr[data-name="script_test"] a').click()
    wait.until(lambda b: css(b, "#template-body").get_attribute("value") == SCRIPT_BODY)
    wait.until(EC.text_to_be_present_in_element((By.ID, "template-preview-text"), "</script><script>alert(1)</script>"))
    no_markup_ran(browser)
    shot(browser, "05-templates")

    # A campaign to the segment: launched, paused, resumed, watched to 100 %.
    go(browser, wait, "campaigns", "Campaigns")
    css(browser, "#campaign-new").click()
    visible(wait, "#campaign-form")
    css(browser, "#campaign-name").send_keys("Spring walk")
    wait.until(lambda b: len(Select(css(b, "#campaign-template")).options) > 1)
    Select(css(browser, "#campaign-template")).select_by_visible_text(
        next(o.text for o in Select(css(browser, "#campaign-template")).options if "walk_offer" in o.text))
    Select(css(browser, "#campaign-segment")).select_by_visible_text(
        next(o.text for o in Select(css(browser, "#campaign-segment")).options if "Walkers" in o.text))
    css(browser, "#campaign-throttle").send_keys("2")
    Select(css(browser, "#campaign-quiet")).select_by_value("none")
    css(browser, "#campaign-review").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "estimate-recipients"), "21 recipients"))
    css(browser, "#campaign-launch").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "sending"))
    campaign_url = browser.current_url
    campaign_id = campaign_url.rsplit("/", 1)[-1]
    visible(wait, "#campaign-pause").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "paused"))
    shot(browser, "06-campaign-paused")
    visible(wait, "#campaign-resume").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "sending"))
    WebDriverWait(browser, 90).until(EC.text_to_be_present_in_element((By.ID, "campaign-progress-text"), "21 of 21 done (100%)"))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "completed"))
    assert css(browser, "#campaign-progress").get_attribute("value") == "100"
    shot(browser, "07-campaign-done")

    # A verification: its code shows in the outbox (and only there).
    go(browser, wait, "verifications", "Verifications")
    css(browser, "#verify-to").send_keys("+14155550100")
    css(browser, "#verify-send").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#verify-form .notice"), "Code sent to +14155550100"))
    shot(browser, "08-verifications")
    go(browser, wait, "outbox", "Outbox")
    css(browser, "#outbox-to").send_keys("+14155550100\n")
    wait.until(lambda b: "to=%2B14155550100" in b.current_url)
    browser.refresh()
    wait.until(lambda b: re.search(r"\b\d{6}\b", css(b, "#outbox-items").text))
    assert css(browser, "#outbox-to").get_attribute("value") == "+14155550100"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#outbox-items .outbox-item")) == 1
    shot(browser, "09-outbox")

    # Settings, grouped: a bad verification default is named by its field; then a default and the
    # campaigns' frequency cap are saved.
    go(browser, wait, "settings", "Settings")
    css(browser, ".jump [data-target='settings-verification']").click()
    length = visible(wait, "#settings-verification-code-length")
    assert browser.switch_to.active_element == length
    length.clear()
    length.send_keys("3")
    css(browser, "#settings-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "settings-verification-code-length-error"), "verification.code_length"))
    length.clear()
    length.send_keys("8")
    css(browser, "#settings-cap-enabled").click()
    css(browser, "#settings-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "settings-notice"), "Settings saved."))
    saved = browser_fetch(browser, "GET", "/v1/settings")["body"]
    assert saved["verification"]["code_length"] == 8 and saved["frequency_cap"] == {"max": 3, "window_hours": 168}

    # An API key: created (shown once, with a copy button), then revoked; it stops working.
    go(browser, wait, "api-keys", "API keys")
    visible(wait, "#api-keys-list")
    css(browser, "#api-key-name").send_keys("Walk app")
    css(browser, "#scope-verifications").click()
    css(browser, "#api-key-create").click()
    secret = visible(wait, "#api-key-secret").text
    assert secret and css(browser, "#api-key-created .copy").is_displayed()
    assert requests.get(herald.url + "/v1/messages", headers={"Authorization": f"Bearer {secret}"}, timeout=10).status_code == 200
    row = visible(wait, '#api-keys-table tr[data-name="Walk app"]')
    assert "messages" in row.text and "verifications" in row.text and "never" in row.text
    shot(browser, "10-api-keys")
    row.find_element(By.CSS_SELECTOR, "[data-action=revoke]").click()
    visible(wait, "#confirm-ok").click()
    wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, '#api-keys-table tr[data-name="Walk app"]'))
    assert requests.get(herald.url + "/v1/messages", headers={"Authorization": f"Bearer {secret}"}, timeout=10).status_code == 401
    # A forged cross-site POST (the cookie but no CSRF token) changes nothing.
    keys_before = browser_fetch(browser, "GET", "/v1/api-keys")["body"]["data"]
    forged = browser_fetch(browser, "POST", "/v1/api-keys", {"name": "forged", "scopes": ["admin"]}, csrf=False)
    assert forged["status"] == 403
    assert browser_fetch(browser, "GET", "/v1/api-keys")["body"]["data"] == keys_before

    # A viewer: created here, signs in, reads the campaign, finds no launch button; the API says 403.
    go(browser, wait, "users", "Users")
    css(browser, "#user-email").send_keys("walk-viewer@example.com")
    Select(css(browser, "#user-role")).select_by_value("viewer")
    css(browser, "#user-password").send_keys("a long enough password")
    css(browser, "#user-create").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "users-table"), "walk-viewer@example.com"))
    shot(browser, "11-users")
    css(browser, "#logout-button").click()
    visible(wait, "#login-form")
    wait = sign_in_as(browser, herald, "walk-viewer@example.com", "a long enough password")
    for page in ("providers", "settings", "users", "api-keys", "audit", "outbox"):
        assert not css(browser, f"#nav-{page}").is_displayed(), page
    browser.get(campaign_url)
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".campaign-status"), "completed"))
    go(browser, wait, "campaigns", "Campaigns")
    visible(wait, "#campaigns-table")
    assert browser.find_elements(By.ID, "campaign-new") == []
    assert browser.find_elements(By.CSS_SELECTOR, "#campaign-launch, #campaign-pause, #campaign-resume") == []
    refused = browser_fetch(browser, "POST", f"/v1/campaigns/{campaign_id}/pause")
    assert refused["status"] == 403 and refused["body"]["error"]["code"] == "forbidden"
    shot(browser, "12-viewer")
    css(browser, "#logout-button").click()
    visible(wait, "#login-form")

    # The admin again: the audit log of all of it, filtered by what and kept in the address.
    wait = sign_in_as(browser, herald, email, ADMIN_PASSWORD)
    # A contact with markup in its name, changed through the API: shown as text in the log.
    hostile = browser_fetch(browser, "POST", "/v1/contacts", {"phone": "+14155888888", "first_name": HOSTILE})
    assert hostile["status"] == 201
    go(browser, wait, "audit", "Audit log")
    visible(wait, "#audit-table")
    actions = {row.get_attribute("data-action") for row in browser.find_elements(By.CSS_SELECTOR, "#audit-table tbody tr")}
    expected = {"user.password_change", "provider.create", "import.create", "segment.create", "template.create", "campaign.create",
                "campaign.pause", "campaign.resume", "api_key.create", "api_key.revoke", "user.create", "contact.create",
                "settings.update"}
    assert expected <= actions, expected - actions
    assert HOSTILE in css(browser, "#audit-table").text
    no_markup_ran(browser)
    shot(browser, "13-audit")
    Select(css(browser, "#audit-action")).select_by_value("campaign")
    css(browser, "#audit-apply").click()
    wait.until(lambda b: {r.get_attribute("data-action") for r in b.find_elements(By.CSS_SELECTOR, "#audit-table tbody tr")}
               and all(r.get_attribute("data-action").startswith("campaign.")
                       for r in b.find_elements(By.CSS_SELECTOR, "#audit-table tbody tr")))
    assert "action=campaign" in browser.current_url
    browser.refresh()
    visible(wait, "#audit-table")
    assert Select(css(browser, "#audit-action")).first_selected_option.get_attribute("value") == "campaign"
    css(browser, '#audit-table tr[data-action="campaign.pause"]').click()
    diff = visible(wait, "#audit-diff").text
    assert "status" in diff and "sending" in diff and "paused" in diff
    shot(browser, "14-audit-detail")
    css(browser, "#audit-detail-close").click()
    # The template with `</script>` in the log: text in the before/after, nothing run.
    Select(css(browser, "#audit-action")).select_by_value("template")
    css(browser, "#audit-apply").click()
    visible(wait, '#audit-table tr[data-action="template.create"]')
    for entry in browser.find_elements(By.CSS_SELECTOR, '#audit-table tr[data-action="template.create"]'):
        if "script_test" in entry.text:
            entry.click()
    assert SCRIPT_BODY in visible(wait, "#audit-diff").text
    no_markup_ran(browser)
    css(browser, "#audit-detail-close").click()

    # Filters live in the address: a reload (or a shared link) shows the same list.
    go(browser, wait, "messages", "Messages")
    visible(wait, "#messages-table")
    Select(css(browser, "#filter-status")).select_by_value("sent")
    wait.until(lambda b: "status=sent" in b.current_url)
    browser.refresh()
    visible(wait, "#messages-table")
    assert Select(css(browser, "#filter-status")).first_selected_option.get_attribute("value") == "sent"
    assert {chip.text for chip in browser.find_elements(By.CSS_SELECTOR, "#messages-table tbody .chip")} == {"sent"}
    browser.get(herald.url + "/#/contacts?search=3999998")
    wait.until(EC.text_to_be_present_in_element((By.ID, "contacts-table"), HOSTILE))
    assert css(browser, "#contacts-search").get_attribute("value") == "3999998"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#contacts-table tbody tr")) == 1
    no_markup_ran(browser)

    # The overview: the landing page once something was sent, with its charts.
    browser.get(herald.url + "/")
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Overview"))
    visible(wait, "#overview-hourly svg .column")
    assert int(css(browser, "#tile-total .tile-value").text.replace(",", "")) >= 22
    wait.until(EC.text_to_be_present_in_element((By.ID, "overview-providers"), "Outbox"))
    visible(wait, "#overview-countries svg")
    shot(browser, "15-overview")
    css(browser, "[data-range='7d']").click()
    wait.until(lambda b: "range=7d" in b.current_url)
    browser.refresh()
    visible(wait, "#overview-hourly svg")
    assert css(browser, "[data-range='7d']").get_attribute("aria-pressed") == "true"

    # Every page, on a wide screen and on a phone: nothing spills sideways, nothing breaks.
    for width, height, label in ((1400, 1000, "wide"), (390, 844, "phone")):
        browser.set_window_size(width, height)
        for route, title in PAGES:
            browser.get(f"{herald.url}/#/{route}")
            wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), title))
            wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, "#page .loading"))
            overflow = browser.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 1:
                wide = browser.execute_script("""
                    const scrolls = (e) => { for (let p = e.parentElement; p; p = p.parentElement) {
                      if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
                    return [...document.querySelectorAll('body *')]
                      .filter((e) => e.getBoundingClientRect().right > innerWidth + 1 && !scrolls(e))
                      .slice(0, 6).map((e) => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().width));
                """)
                raise AssertionError(f"{route} on a {label} screen is {overflow}px too wide: {wide}")
            no_markup_ran(browser)
            shot(browser, f"page-{label}-{route}")
    browser.set_window_size(1400, 1000)

    # Sign out: the session is gone.
    css(browser, "#logout-button").click()
    visible(wait, "#login-form")
    assert browser_fetch(browser, "GET", "/auth/me", csrf=False)["status"] == 401
    assert console_problems(browser) == []
