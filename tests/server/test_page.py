"""The page at ``/`` in a real headless Chromium (Debian's chromium and chromium-driver).

CI installs both (``.ci/run``); elsewhere the test is skipped when they are
missing. The screenshot is kept under ``tests/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Server

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver")

if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)) and not os.environ.get("CI"):
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, check: Any, timeout: float = 20) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(check)


def test_check_a_visit_apply_fixes_and_download(server: Server, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"http://127.0.0.1:{server.port}/")
    assert "cptrules" in browser.title
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#payer option")) > 1)
    browser.find_element(By.ID, "example").click()
    browser.find_element(By.ID, "check").click()
    _wait(browser, lambda d: d.find_element(By.ID, "result").is_displayed())
    rows = browser.find_elements(By.CSS_SELECTOR, "table.findings tr")
    text = "\n".join(r.text for r in rows)
    assert "units.total-time" in text  # 3 units billed where the chart gives 2
    assert "CMS Pub. 100-04" in text  # the citation is shown
    severities = {e.text.lower() for e in browser.find_elements(By.CSS_SELECTOR, ".sev")}
    assert "error" in severities
    assert "set units 2 (line 1)" in text

    first = browser.find_element(By.CSS_SELECTOR, "table.findings tr:nth-child(2) .sev")
    assert first.text.lower() == "error"  # errors come first on the page
    ARTIFACTS.mkdir(exist_ok=True)
    browser.execute_script("document.getElementById('verdict').scrollIntoView()")
    browser.save_screenshot(str(ARTIFACTS / "page-findings.png"))

    browser.find_element(By.ID, "fix").click()
    link = _wait(
        browser,
        lambda d: (
            d.find_element(By.ID, "download")
            if d.find_element(By.ID, "download").is_displayed()
            else False
        ),
    )
    assert link.get_attribute("download") == "corrected.json"
    assert link.get_attribute("href").startswith("blob:")
    _wait(browser, lambda d: "units.total-time" not in d.find_element(By.ID, "reports").text)
    assert '"units": 2' in browser.find_element(By.ID, "source").get_attribute("value")
    assert browser.find_element(By.ID, "verdict").text == "No errors"
    browser.execute_script("document.getElementById('verdict').scrollIntoView()")
    browser.save_screenshot(str(ARTIFACTS / "page-fixed.png"))


def test_an_invalid_visit_shows_every_problem(server: Server, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"http://127.0.0.1:{server.port}/")
    box = browser.find_element(By.ID, "source")
    box.send_keys('{"payer": "medicare", "lines": []}')
    browser.find_element(By.ID, "check").click()
    _wait(browser, lambda d: d.find_element(By.ID, "problem").is_displayed())
    problems = browser.find_element(By.ID, "problems").text
    assert "date_of_service" in problems
    assert "provider" in problems


def test_an_837_claim_is_fixed_into_a_downloadable_837(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    import cptrules
    from cptrules import x12
    from cptrules.cli import main

    visit = {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "PT", "npi": "1234567893"},
        "lines": [{"code": "97110", "units": 2}],
    }
    needling = {  # settles in two rounds: 20561 goes, then the 59 nothing needs
        **visit,
        "lines": [
            {"code": "20560", "units": 1, "modifiers": ["GP", "59"]},
            {"code": "20561", "units": 1, "modifiers": ["GP", "59"]},
        ],
    }
    claims = x12.dump_837(
        [("CLAIM-5", cptrules.load_session(visit)), ("CLAIM-6", cptrules.load_session(needling))]
    )
    source = tmp_path / "claims.837"
    source.write_text(claims, encoding="utf-8", newline="")
    assert main(["fix", str(source), "-o", str(tmp_path / "cli.837"), "--quiet"]) in (0, 1)
    browser.get(f"http://127.0.0.1:{server.port}/")
    browser.execute_script("document.getElementById('source').value = arguments[0]", claims)
    browser.find_element(By.ID, "check").click()
    _wait(browser, lambda d: d.find_element(By.ID, "result").is_displayed())
    reports = browser.find_element(By.ID, "reports").text
    assert "Claim 1" in reports
    assert "modifier.therapy" in reports  # GP missing on an always-therapy code
    browser.find_element(By.ID, "fix").click()
    link = _wait(
        browser,
        lambda d: (
            d.find_element(By.ID, "download")
            if d.find_element(By.ID, "download").is_displayed()
            else False
        ),
    )
    assert link.get_attribute("download") == "corrected.837"
    text = browser.find_element(By.ID, "source").get_attribute("value")
    assert text.startswith("ISA")
    assert "HC:97110:GP" in text
    downloaded = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(document.getElementById('download').href).then((r) => r.text()).then(done);"
    )
    # What the person downloads is what `cptrules fix` writes for the same claims.
    assert downloaded == (tmp_path / "cli.837").read_text(encoding="utf-8")
