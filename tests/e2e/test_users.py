"""The Users page in headless Chromium: the first login forces a new password, then an admin
adds a marketer, disables it (its session stops working at once), enables it, and deletes it."""
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from browser_support import browser, choose_new_password, console_problems  # noqa: F401  (browser is a fixture)
from conftest import ADMIN_PASSWORD

MARKETER = "mia@example.com"
MARKETER_PASSWORD = "mia's long password"


def css(browser, selector):
    return browser.find_element(By.CSS_SELECTOR, selector)


def visible(wait, selector):
    return wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))


def user_row(browser, email):
    return css(browser, f'#users-table tbody tr[data-email="{email}"]')


def confirm(browser, wait, button_text):
    ok = visible(wait, "#confirm-dialog[open] #confirm-ok")
    assert ok.text == button_text
    ok.click()
    wait.until(EC.invisibility_of_element_located((By.CSS_SELECTOR, "#confirm-dialog[open]")))


def test_first_login_then_add_disable_and_delete_a_marketer(herald, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    email, printed = herald.first_login
    browser.get(herald.url + "/")
    # The table is re-rendered after every change: an element read mid-render is simply read again.
    wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))
    visible(wait, "#login-form")
    css(browser, "#email").send_keys(email)
    css(browser, "#password").send_keys(printed)
    css(browser, "#login-button").click()

    # The first login cannot go anywhere before choosing a password…
    visible(wait, "#password-form")
    assert not css(browser, "#home-view").is_displayed()
    blocked = browser.execute_async_script("""
        const done = arguments[0];
        fetch('/v1/users').then(async (r) => done({status: r.status, body: await r.json()}));
    """)
    assert blocked["status"] == 403 and blocked["body"]["error"]["code"] == "password_change_required"
    # …and the chosen one must differ from the printed one.
    choose_new_password(browser, wait, printed)
    assert "differ" in visible(wait, "#password-error").text
    css(browser, "#new-password").clear()
    css(browser, "#confirm-password").clear()
    choose_new_password(browser, wait, ADMIN_PASSWORD)
    herald.admin_password = ADMIN_PASSWORD
    visible(wait, "#home-view")

    # The Users page lists the admin, marked as "you".
    css(browser, "#nav-users").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Users"))
    visible(wait, "#users-table")
    assert "(you)" in user_row(browser, email).text

    # Add a marketer with a chosen password.
    css(browser, "#user-email").send_keys(MARKETER)
    Select(css(browser, "#user-role")).select_by_value("marketer")
    css(browser, "#user-password").send_keys(MARKETER_PASSWORD)
    css(browser, "#user-create").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, f'#users-table tr[data-email="{MARKETER}"]'))
    assert Select(user_row(browser, MARKETER).find_element(By.CSS_SELECTOR, "select[data-action=role]")).first_selected_option.text == "marketer"

    # Bad input is shown next to its field.
    css(browser, "#user-email").send_keys("not-an-address")
    css(browser, "#user-create").click()
    assert "e-mail" in visible(wait, "#user-email-error").text
    css(browser, "#user-email").clear()

    # The marketer signs in elsewhere.
    marketer = requests.Session()
    signed_in = marketer.post(herald.url + "/auth/login", json={"email": MARKETER, "password": MARKETER_PASSWORD}, timeout=10)
    assert signed_in.status_code == 200 and signed_in.json()["password_change_required"] is False
    assert marketer.get(herald.url + "/auth/me", timeout=10).status_code == 200

    # Disable: after confirming, the marketer's session stops working at once.
    user_row(browser, MARKETER).find_element(By.CSS_SELECTOR, "button[data-action=toggle]").click()
    confirm(browser, wait, "Disable user")
    wait.until(lambda b: user_row(b, MARKETER).find_element(By.CSS_SELECTOR, "button[data-action=toggle]")
               .get_attribute("aria-checked") == "false")
    wait.until(EC.text_to_be_present_in_element((By.ID, "users-notice"), "disabled"))
    assert marketer.get(herald.url + "/auth/me", timeout=10).status_code == 401
    again = requests.post(herald.url + "/auth/login", json={"email": MARKETER, "password": MARKETER_PASSWORD}, timeout=10)
    assert again.status_code == 401

    # Enable again: they may sign in anew.
    user_row(browser, MARKETER).find_element(By.CSS_SELECTOR, "button[data-action=toggle]").click()
    wait.until(lambda b: user_row(b, MARKETER).find_element(By.CSS_SELECTOR, "button[data-action=toggle]")
               .get_attribute("aria-checked") == "true")
    assert requests.post(herald.url + "/auth/login", json={"email": MARKETER, "password": MARKETER_PASSWORD},
                         timeout=10).status_code == 200

    # The admin cannot demote themselves away: Herald keeps one enabled admin.
    Select(user_row(browser, email).find_element(By.CSS_SELECTOR, "select[data-action=role]")).select_by_value("viewer")
    wait.until(EC.text_to_be_present_in_element((By.ID, "users-notice"), "last enabled admin"))
    assert Select(user_row(browser, email).find_element(By.CSS_SELECTOR, "select[data-action=role]")).first_selected_option.text == "admin"

    # Delete, after a confirmation; cancelling first keeps the user.
    user_row(browser, MARKETER).find_element(By.CSS_SELECTOR, "button[data-action=delete]").click()
    visible(wait, "#confirm-dialog[open] #confirm-cancel").click()
    assert user_row(browser, MARKETER)
    user_row(browser, MARKETER).find_element(By.CSS_SELECTOR, "button[data-action=delete]").click()
    confirm(browser, wait, "Delete user")
    wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, f'#users-table tr[data-email="{MARKETER}"]'))
    assert requests.post(herald.url + "/auth/login", json={"email": MARKETER, "password": MARKETER_PASSWORD},
                         timeout=10).status_code == 401

    # After a reload the page shows the same.
    browser.refresh()
    visible(wait, "#users-table")
    assert not browser.find_elements(By.CSS_SELECTOR, f'#users-table tr[data-email="{MARKETER}"]')
    assert console_problems(browser) == []


def test_an_api_key_made_by_a_disabled_admin_stops_working(herald):
    session, csrf = herald.admin_session()
    headers = {"X-CSRF-Token": csrf}
    deputy = session.post(herald.url + "/v1/users", headers=headers, timeout=10,
                          json={"email": "deputy@example.com", "role": "admin", "password": "the deputy's password"})
    assert deputy.status_code == 201, deputy.text
    deputy_session = requests.Session()
    signed_in = deputy_session.post(herald.url + "/auth/login", timeout=10,
                                    json={"email": "deputy@example.com", "password": "the deputy's password"})
    key = deputy_session.post(herald.url + "/v1/api-keys", headers={"X-CSRF-Token": signed_in.json()["csrf_token"]}, timeout=10,
                              json={"name": "deputy's integration", "scopes": ["messages"]}).json()["key"]
    bearer = {"Authorization": f"Bearer {key}"}
    assert herald.get("/v1/messages", headers=bearer).status_code == 200

    disabled = session.patch(herald.url + f"/v1/users/{deputy.json()['id']}", headers=headers, json={"disabled": True}, timeout=10)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert herald.get("/v1/messages", headers=bearer).status_code == 401
    assert deputy_session.get(herald.url + "/auth/me", timeout=10).status_code == 401
