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


def test_sign_in_with_the_printed_password_and_out(herald, browser):
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
    wait.until(EC.visibility_of_element_located((By.ID, "home-view")))
    assert browser.find_element(By.ID, "me-email").text == email
    cookie = browser.get_cookie("herald_session")
    assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict"

    browser.refresh()  # the session survives a reload
    wait.until(EC.visibility_of_element_located((By.ID, "home-view")))

    browser.find_element(By.ID, "logout-button").click()
    wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
    browser.refresh()
    wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
