"""Reports as a person sees them: opened in headless Chromium (Debian's ``chromium``), both
recipes in both modes. Screenshots go to ``<pytest basetemp>/reports/screenshots/`` (the path is
printed), so a reviewer can look at every page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from leadforge.report.build import build_report
from leadforge.report.render import to_html
from report_support import MODES, RECIPES, report_host, small_bundle

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
playwright = pytest.importorskip(
    "playwright.sync_api", reason="needs the playwright package (dev dependency)"
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (apt install chromium)"),
]

#: What a figure must hold to count as drawn: an SVG with marks in it, or a table with rows.
NON_EMPTY = """(fig) => {
  const svg = fig.querySelector('svg');
  if (svg) return svg.querySelectorAll('path, rect, line, polyline, text, use').length > 5
                  && svg.getBoundingClientRect().width > 50 && svg.getBoundingClientRect().height > 50;
  const rows = fig.querySelectorAll('table tbody tr');
  return rows.length > 0;
}"""
#: Figures that may say "not available" on these bundles (no realism metrics yet, or a skipped check).
MAY_BE_MISSING = {"realism"}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    host = report_host()
    root = tmp_path_factory.getbasetemp() / "reports"
    root.mkdir(exist_ok=True)
    out = {}
    for recipe in RECIPES:
        for mode in MODES:
            bundle = small_bundle(host, root / "bundles", recipe, mode)
            page = root / f"{recipe}-{mode}.html"
            page.write_text(to_html(build_report(bundle, host)), encoding="utf-8")
            out[(recipe, mode)] = page
    return out


def test_reports_render_in_chromium(
    pages: dict[tuple[str, str], Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.getbasetemp() / "reports" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    print(f"\nreport screenshots: {shots}")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for (recipe, mode), page_path in pages.items():
                page = browser.new_page(viewport={"width": 1366, "height": 900})
                errors: list[str] = []
                requests: list[str] = []
                page.on(
                    "console",
                    lambda m, errors=errors: (
                        errors.append(m.text) if m.type in ("error", "warning") else None
                    ),
                )
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.on("request", lambda r, requests=requests: requests.append(r.url))
                url = page_path.as_uri()
                page.goto(url, wait_until="load")
                page.screenshot(path=str(shots / f"{recipe}-{mode}.png"), full_page=True)
                where = f"{recipe} {mode}"
                assert not errors, f"{where}: console errors {errors}"
                assert requests == [url], f"{where}: external requests {[r for r in requests if r != url]}"
                figures = page.query_selector_all("figure.figure")
                assert len(figures) >= 12, where
                for fig in figures:
                    fid = (fig.get_attribute("id") or "").split("--")[-1]
                    if fig.get_attribute("data-available") == "false":
                        assert fid in MAY_BE_MISSING, f"{where}: figure {fid} is not available"
                        continue
                    assert fig.evaluate(NON_EMPTY), f"{where}: figure {fid} is empty"
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 1366, f"{where}: the page is {width}px wide on a 1366px laptop screen"
                ids = {(f.get_attribute("id") or "").split("--")[-1] for f in figures}
                assert ("hidden-graph" in ids) == (mode == "research_instructor" and recipe == RECIPES[0]), (
                    where
                )
                page.close()
        finally:
            browser.close()
