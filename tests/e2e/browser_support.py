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
    """Signs in with the first login Herald printed; returns a wait for the signed-in shell."""
    email, password = herald.first_login
    browser.get(herald.url + "/")
    wait = WebDriverWait(browser, timeout)
    wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login-button").click()
    wait.until(EC.visibility_of_element_located((By.ID, "home-view")))
    return wait


def console_problems(browser) -> list[str]:
    """Console entries that mean the page broke: CSP violations and uncaught script errors."""
    return [
        entry["message"] for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Uncaught" in entry["message"]
    ]
