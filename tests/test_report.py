"""The HTML report: self-contained, and rendered for real in headless Chromium."""
import re
import shutil
import subprocess

import pytest

import pmfast
from pmfast import batch
from pmfast.report import write_report


@pytest.fixture(scope="module")
def run():
    book = pmfast.generate(accounts=150, seed=4, as_book=True)
    return batch.run_book(book, method="both", n_threads=1)


@pytest.fixture(scope="module")
def report_path(run, tmp_path_factory):
    return write_report(run, tmp_path_factory.mktemp("report") / "report.html")


def test_report_is_self_contained(report_path):
    text = report_path.read_text()
    # Works offline: nothing is fetched from elsewhere.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text


def test_report_has_summary_charts_and_tables(run, report_path):
    text = report_path.read_text()
    assert "Summary" in text and "Rule set and parameters" in text
    top = run.accounts.sort_values("pm_requirement", ascending=False)["account"].iloc[0]
    assert f"Account {top}" in text
    # one ratio histogram plus at least one P&L-by-scenario chart per top account
    assert text.count("<svg") >= 1 + 10
    assert "Reg T strategies chosen" in text and "Requirement by group" in text


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("headless Chromium is needed to check the report (.ci/run installs Debian's "
                "`chromium`)")


def test_report_renders_in_chromium(report_path, tmp_path):
    browser = _chromium()
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}"]
    url = report_path.resolve().as_uri()
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    # The browser parsed the inline SVG charts and the tables into its DOM.
    assert dom.count("<svg") >= 11
    assert dom.count("<table") >= 3
    assert "portfolio margin" in dom
    shot = tmp_path / "report.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1200,2400", url],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
