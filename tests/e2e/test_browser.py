"""Signing in at / in headless Chromium, as a person would."""
import os
import shutil

import pytest

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_sign_in_with_the_printed_password_choose_a_new_one_and_out(herald, browser):
    email, password = herald.first_login
    browser.get(herald.url + "/")
    wait = WebDriverWait(browser, 10)
    wait.until(EC.visibility_of_element_located((By.ID, "login-form")))

    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys("wrong password")
    browser.find_element(By.ID, "login-button").click()
    error = wait.until(EC.visibility_of_element_located((By.ID, "login-error")))
    assert "wrong" in error.text

    browser.find_element(By.ID, "password").clear()
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login-button").click()
    # The printed password only opens the door: a new one must be chosen first.
    wait.until(EC.visibility_of_element_located((By.ID, "password-form")))
    assert not browser.find_element(By.ID, "home-view").is_displayed()
    cookie = browser.get_cookie("herald_session")
    assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict"

    browser.refresh()  # a reload does not get around it
    wait.until(EC.visibility_of_element_located((By.ID, "password-form")))
    browser.find_element(By.ID, "current-password").send_keys(password)
    browser.find_element(By.ID, "new-password").send_keys("mine and mine alone")
    browser.find_element(By.ID, "confirm-password").send_keys("mine and not the same")
    browser.find_element(By.ID, "password-button").click()
    assert "differ" in wait.until(EC.visibility_of_element_located((By.ID, "password-error"))).text
    browser.find_element(By.ID, "confirm-password").clear()
    browser.find_element(By.ID, "confirm-password").send_keys("mine and mine alone")
    browser.find_element(By.ID, "password-button").click()
    wait.until(EC.visibility_of_element_located((By.ID, "home-view")))
    assert browser.find_element(By.ID, "me-email").text == email

    browser.refresh()  # the session survives a reload
    wait.until(EC.visibility_of_element_located((By.ID, "home-view")))

    browser.find_element(By.ID, "logout-button").click()
    wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
    browser.refresh()
    wait.until(EC.visibility_of_element_located((By.ID, "login-form")))

    # The printed password is history; the chosen one signs straight in.
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login-button").click()
    assert "wrong" in wait.until(EC.visibility_of_element_located((By.ID, "login-error"))).text
    browser.find_element(By.ID, "password").clear()
    browser.find_element(By.ID, "password").send_keys("mine and mine alone")
    browser.find_element(By.ID, "login-button").click()
    wait.until(EC.visibility_of_element_located((By.ID, "home-view")))


def test_an_ended_session_returns_to_the_login_page_and_back(herald, browser):
    from browser_support import sign_in
    from conftest import ADMIN_PASSWORD
    wait = sign_in(browser, herald)
    browser.find_element(By.ID, "nav-campaigns").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Campaigns"))
    browser.delete_cookie("herald_session")  # the session ends (expiry, a sign-out elsewhere)
    browser.find_element(By.ID, "nav-contacts").click()
    reason = wait.until(EC.visibility_of_element_located((By.ID, "login-reason")))
    assert "Your session ended" in reason.text and "Contacts" in reason.text
    assert browser.find_element(By.ID, "email").get_attribute("value") == herald.first_login[0], "the e-mail is kept"
    browser.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.ID, "login-button").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Contacts"))
    assert browser.current_url.endswith("#/contacts")
    # Signing out on purpose says nothing about an ended session.
    browser.find_element(By.ID, "logout-button").click()
    wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
    assert not browser.find_element(By.ID, "login-reason").is_displayed()
