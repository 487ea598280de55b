"""Screenshots of the reviewer console for the README, taken with Debian's chromium.

    .venv/bin/catalog demo --fresh &            # prints the tokens
    .venv/bin/python docs/screenshots.py http://127.0.0.1:8000 REVIEWER_TOKEN OWNER_TOKEN

Writes docs/console-*.png. Needs chromium and chromedriver (apt-get install chromium
chromium-driver) and selenium (in the dev extras)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

DOCS = Path(__file__).resolve().parent
SHOTS = [  # (file, address, height)
    ("console-fields.png", "/fields?q=dwh.", 900),
    ("console-field.png", "/fields/dwh.marts.audiences.baby_club_member?depth=4"
                          "&purpose=marketing.direct&channel=email", 2600),
    ("console-check.png", "/check?field=dwh.marts.audiences.baby_club_member"
                          "&purpose=marketing.direct&channel=email", 1300),
    ("console-rules.png", "/rules", 1200),
    ("console-changes.png", "/changes", 900),
]


def browser(width: int = 1440, height: int = 900) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--hide-scrollbars"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def sign_in(driver: webdriver.Chrome, base: str, token: str) -> None:
    driver.delete_all_cookies()
    driver.get(base + "/signin")
    driver.find_element(By.NAME, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form[action='/signin'] button").click()


def main(base: str, reviewer: str, owner: str | None = None) -> None:
    driver = browser()
    try:
        driver.get(base + "/signin")
        driver.save_screenshot(str(DOCS / "console-signin.png"))
        sign_in(driver, base, reviewer)
        for name, address, height in SHOTS:
            driver.set_window_size(1440, height)
            driver.get(base + address)
            time.sleep(0.3)
            driver.save_screenshot(str(DOCS / name))
        driver.set_window_size(1440, 900)
        driver.get(base + "/graphql")
        time.sleep(2)
        driver.save_screenshot(str(DOCS / "console-graphiql.png"))
        if owner:
            sign_in(driver, base, owner)
            driver.set_window_size(1440, 1100)
            driver.get(base + "/fields/crm.customers.email#grants")
            time.sleep(0.3)
            driver.save_screenshot(str(DOCS / "console-owner-grants.png"))
    finally:
        driver.quit()


if __name__ == "__main__":
    main(*sys.argv[1:])
