"""The Contacts and Segments pages in headless Chromium, as a marketer would use them: import a
CSV of 1,000 contacts and watch the progress bar finish, read the rejected rows with their line
numbers, find a contact whose name is markup (shown as text), read its consent ledger,
unsubscribe it, then build a segment and watch its live count."""
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


def test_import_browse_unsubscribe_and_segment(herald, browser, tmp_path):
    rows = ["phone,first_name,last_name,tags,plan"]
    rows += [f"+1415{3000000 + i},Person{i},Test,{'vip' if i % 4 == 0 else 'news'},{'pro' if i % 2 else 'free'}" for i in range(997)]
    rows += [f'+14159999998,"{HOSTILE.replace(chr(34), chr(34) * 2)}",Markup,vip,pro', "not-a-number,Bad,,,", "+14153000001,Repeat,,,"]
    csv = tmp_path / "people.csv"
    csv.write_text("\n".join(rows) + "\n")

    wait = sign_in(browser, herald)
    go(browser, wait, "contacts", "Contacts")
    visible(wait, "#contacts-list .empty")

    css(browser, "#import-file").send_keys(str(csv))
    css(browser, "#import-tags").send_keys("spring")
    css(browser, "#import-button").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "import-progress-text"), "Done"))
    assert css(browser, "#import-progress").get_attribute("value") == "100"
    wait.until(EC.text_to_be_present_in_element((By.ID, "import-form"), "1,000 rows: 998 new, 0 updated, 0 unchanged, 2 rejected."))
    lines = [row.get_attribute("data-line") for row in browser.find_elements(By.CSS_SELECTOR, "#import-errors tbody tr")]
    assert lines == ["1000", "1001"]
    assert "repeats the number of line 3" in css(browser, "#import-errors").text
    screenshot(browser, "contacts-import")

    # The list fills; the contact named with markup is text everywhere.
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#contacts-table tbody tr")))
    css(browser, "#contacts-search").send_keys("Markup")
    css(browser, "#contacts-filters button[type=submit]").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "contacts-table"), HOSTILE))
    assert browser.find_elements(By.CSS_SELECTOR, "#contacts-table img") == []
    css(browser, "#contacts-table [data-open]").click()
    detail = visible(wait, "#contact-ledger")
    assert "import" in detail.text
    assert HOSTILE in css(browser, "#contact-detail-title").text
    assert browser.find_elements(By.CSS_SELECTOR, "#contact-detail img") == []
    assert "pro" in css(browser, "#contact-attributes").text

    # Unsubscribe: the ledger grows and the chip changes.
    css(browser, "#contact-toggle").click()
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#contact-ledger li")) == 2)
    assert css(browser, "#contact-ledger li[data-action='unsubscribe']").is_displayed()
    wait.until(EC.text_to_be_present_in_element((By.ID, "contact-toggle"), "Subscribe again"))
    screenshot(browser, "contacts-detail")

    # A segment: VIPs on the pro plan — live count as the rule is built.
    go(browser, wait, "segments", "Segments")
    field = Select(css(browser, "#segment-conditions .condition-field"))
    field.select_by_value("tags")
    Select(css(browser, "#segment-conditions .condition-op")).select_by_value("has")
    css(browser, "#segment-conditions .condition-value").send_keys("vip")
    wait.until(EC.text_to_be_present_in_element((By.ID, "segment-count"), "251 contacts · 250 subscribed"))
    css(browser, "#segment-add-condition").click()
    second = browser.find_elements(By.CSS_SELECTOR, "#segment-conditions .condition")[1]
    Select(second.find_element(By.CSS_SELECTOR, ".condition-field")).select_by_value("attribute")
    second.find_element(By.CSS_SELECTOR, ".condition-key").send_keys("plan")
    Select(second.find_element(By.CSS_SELECTOR, ".condition-op")).select_by_value("eq")
    second.find_element(By.CSS_SELECTOR, ".condition-value").send_keys("pro")
    # vip = every 4th row (0, 4, 8 …, all even, so all "free") plus the markup row (pro).
    wait.until(EC.text_to_be_present_in_element((By.ID, "segment-count"), "1 contact · 0 subscribed"))
    assert HOSTILE in css(browser, "#segment-sample").text

    # A mistake is pointed at: a number comparison on text.
    Select(second.find_element(By.CSS_SELECTOR, ".condition-op")).select_by_value("gte")
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "#segment-form .form-error"), "Condition 2"))
    Select(second.find_element(By.CSS_SELECTOR, ".condition-op")).select_by_value("eq")
    wait.until(EC.text_to_be_present_in_element((By.ID, "segment-count"), "1 contact ·"))

    css(browser, "#segment-name").send_keys("VIP pros")
    css(browser, "#segment-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "segments-table"), "VIP pros"))
    screenshot(browser, "segments")

    # The contact list filters by the saved segment.
    go(browser, wait, "contacts", "Contacts")
    wait.until(lambda b: len(Select(css(b, "#contacts-segment")).options) == 2)
    Select(css(browser, "#contacts-segment")).select_by_index(1)
    css(browser, "#contacts-filters button[type=submit]").click()
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#contacts-table tbody tr")) == 1)

    # A forged cross-site POST without the CSRF token changes nothing.
    forged = browser_fetch(browser, "POST", "/v1/contacts", {"phone": "+14155550111"}, csrf=False)
    assert forged["status"] == 403
    assert console_problems(browser) == []
