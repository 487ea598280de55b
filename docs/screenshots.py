"""Screenshots of the reviewer console for the README, taken with Debian's chromium.

    .venv/bin/catalog demo --fresh &            # prints the tokens
    .venv/bin/python docs/screenshots.py http://127.0.0.1:8000 REVIEWER_TOKEN OWNER_TOKEN \
        ADMIN_TOKEN

Writes docs/console-*.png. With the admin token it first makes some marketing traffic for the
overcrowding picture: four named pipeline tokens ask checks, then it waits for the server to
flush its decision log (CATALOG_DECISION_LOG_FLUSH, 5 s by default). Needs chromium and
chromedriver (apt-get install chromium chromium-driver) and selenium (in the dev extras)."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

DOCS = Path(__file__).resolve().parent
SHOTS = [  # (file, address, height)
    ("console-fields.png", "/fields?q=dwh.", 900),
    ("console-field.png", "/fields/dwh.marts.audiences.baby_club_member?depth=4"
                          "&purpose=marketing.direct&channel=email", 2150),
    ("console-check.png", "/check?field=dwh.marts.audiences.baby_club_member"
                          "&purpose=marketing.direct&channel=email", 1300),
    ("console-rules.png", "/rules", 1200),
    ("console-changes.png", "/changes", 900),
    ("console-gaps.png", "/gaps", 1000),
    ("console-notice.png", "/notice", 1500),
    ("console-spectrum.png", "/spectrum", 800),
    ("console-overcrowding.png", "/overcrowding", 700),
]
# As the admin (who may state a benefit), else as the reviewer.
GAPS_SHOT = ("console-field-gaps.png", "/fields/ml.scores.pregnancy_likelihood?depth=2#gaps",
             1000)
# Who asks what, for the overcrowding picture: three teams e-mail the same customers, two
# advertise, one sends letters.
TRAFFIC = {
    "newsletter-team": [("crm.customers.email", "marketing.direct", "email")] * 40
    + [("crm.customers.clothing_size", "personalization.recommendations", "web")] * 12,
    "loyalty-team": [("crm.customers.email", "marketing.direct", "email")] * 25
    + [("dwh.marts.audiences.baby_club_member", "marketing.direct", "email")] * 9
    + [("crm.customers.email", "marketing.direct", "direct_mail")] * 6,
    "retention-team": [("ml.scores.churn_risk", "marketing.direct", "email")] * 18
    + [("shop.web.tracking.ad_pixel_id", "marketing.advertising", "ads")] * 7,
    "ads-team": [("shop.web.tracking.ad_pixel_id", "marketing.advertising", "ads")] * 30
    + [("crm.customers.email", "service.delivery", "email")] * 20,
}


def graphql(base: str, token: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(base + "/graphql", data=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        answer = json.loads(response.read())
    if answer.get("errors"):
        raise SystemExit(f"GraphQL error: {answer['errors'][0]['message']}")
    return answer["data"]


def make_traffic(base: str, admin: str, flush_wait: float = 6.0) -> None:
    create = "mutation($n: String!) { createToken(role: \"pipeline\", name: $n) { token } }"
    check = "query($r: [CheckInput!]!) { checkMany(requests: $r) { allowed } }"
    for team, cells in TRAFFIC.items():
        token = graphql(base, admin, create, {"n": team})["createToken"]["token"]
        graphql(base, token, check, {"r": [{"field": f, "purpose": p, "channel": c}
                                           for f, p, c in cells]})
    time.sleep(flush_wait)


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


def main(base: str, reviewer: str, owner: str | None = None, admin: str | None = None) -> None:
    if admin:
        make_traffic(base, admin)
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
        sign_in(driver, base, admin or reviewer)
        name, address, height = GAPS_SHOT
        driver.set_window_size(1440, height)
        driver.get(base + address)
        time.sleep(0.3)
        driver.save_screenshot(str(DOCS / name))
    finally:
        driver.quit()


if __name__ == "__main__":
    main(*sys.argv[1:])
