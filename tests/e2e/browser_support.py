"""Shared selenium helpers for the dashboard tests: a headless Chromium and signing in."""
import os
import shutil

import pytest

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def new_browser() -> webdriver.Chrome:
    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture
def browser():
    driver = new_browser()
    yield driver
    driver.quit()


def sign_in(browser, herald, timeout: float = 10) -> WebDriverWait:
    """Signs in as the first admin; returns a wait for the signed-in shell. With the password
    Herald printed, the dashboard first asks for a new one: this chooses ADMIN_PASSWORD."""
    from conftest import ADMIN_PASSWORD
    email, printed = herald.first_login
    browser.get(herald.url + "/")
    wait = WebDriverWait(browser, timeout)
    wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(herald.admin_password or printed)
    browser.find_element(By.ID, "login-button").click()
    wait.until(lambda b: b.find_element(By.ID, "home-view").is_displayed() or b.find_element(By.ID, "password-view").is_displayed())
    if browser.find_element(By.ID, "password-view").is_displayed():
        choose_new_password(browser, wait, ADMIN_PASSWORD)
        herald.admin_password = ADMIN_PASSWORD
    wait.until(EC.visibility_of_element_located((By.ID, "home-view")))
    return wait


def choose_new_password(browser, wait, new_password: str):
    """Fills the new-password form the first login shows (the current password is kept from the login)."""
    wait.until(EC.visibility_of_element_located((By.ID, "password-form")))
    browser.find_element(By.ID, "new-password").send_keys(new_password)
    browser.find_element(By.ID, "confirm-password").send_keys(new_password)
    browser.find_element(By.ID, "password-button").click()


def console_problems(browser) -> list[str]:
    """Console entries that mean the page broke: CSP violations and uncaught script errors."""
    return [
        entry["message"] for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Uncaught" in entry["message"]
    ]
