"""The dashboard end to end in a real browser (Playwright driving Debian's chromium, no
browser download): start ``sim dashboard`` on 127.0.0.1, run the plan, switch a pillar off,
run again, and check that the headline changes and runs are ordinary results folders. The
screenshot is kept as a test artefact in pytest's temporary folder (never in the repository)."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sim.dashboard import core
from sim.results import load_results
from sim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRE = os.environ.get("SIM_REQUIRE_CHROMIUM") == "1"


def test_variant_switches_and_scales_pillars():
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    plan = load_scenario(ROOT / "scenarios" / "plan.yaml")
    pil = core.pillars(plan, base)
    assert "one core" in pil and len(pil["one core"]) == 4
    full = core.variant(plan, base, dict.fromkeys(pil, 1.0))
    assert full.name == "plan" and len(full.policies) == len(plan.policies)
    v = core.variant(plan, base, {"one core": 2.0})
    assert v.name == "plan-custom" and len(v.policies) == len(base.policies) + 4
    before = {p.label: p for p in plan.policies if core.pillar_of(p.label) == "one core"}
    for p in v.policies:
        old = before[p.label]
        if hasattr(p, "factor"):
            assert p.factor == pytest.approx(old.factor ** 2)
            assert p.cost_cny == pytest.approx(2 * old.cost_cny)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(CHROMIUM is None and not REQUIRE, reason="no chromium (CI installs it)")
def test_dashboard_in_a_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    port = _free_port()
    results = tmp_path / "results"
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "sim", "dashboard", "--port", str(port), "--end-year", "2022",
         "--results", str(results), "--scenarios", str(ROOT / "scenarios")],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(120):
            try:
                if urllib.request.urlopen(url, timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("dashboard did not start:\n" + (tmp_path / "server.log").read_text())
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            failed = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(url)
            page.get_by_role("button", name="Run").wait_for(timeout=120_000)
            page.get_by_role("button", name="Run").click()
            page.locator("#headline table").wait_for(timeout=180_000)
            page.wait_for_function("document.querySelector('#status').innerText"
                                   ".includes('plan-')", timeout=180_000)
            first = page.locator("#headline").inner_text()
            assert "GDP 2022" in first
            page.get_by_text("one core (4)").click()  # switch a pillar off
            page.get_by_role("button", name="Run").click()
            page.wait_for_function("document.querySelector('#status').innerText"
                                   ".includes('plan-custom')", timeout=180_000)
            page.wait_for_function(
                "t => document.querySelector('#headline').innerText !== t", arg=first,
                timeout=60_000)
            second = page.locator("#headline").inner_text()
            assert second != first
            page.locator(".map img, .map svg").first.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "dashboard.png"))
            page.locator(".map").first.screenshot(path=str(tmp_path / "dashboard_map.png"))
            browser.close()
        assert not [u for u in failed if "/_solara/" in u and "katex" not in u], failed
        folders = sorted(p.name for p in results.iterdir())
        assert any(f.startswith("plan-custom-") for f in folders), folders
        assert any(f.startswith("baseline-") for f in folders), folders
        for f in results.iterdir():
            assert load_results(f).manifest["end_year"] == 2022
        assert (tmp_path / "dashboard_map.png").stat().st_size > 20_000
        # the page's downloads: the results folder as a zip, the comparison as a workbook
        import io
        import zipfile

        from openpyxl import load_workbook

        plan = next(f for f in results.iterdir() if f.name.startswith("plan-custom-"))
        base = next(f for f in results.iterdir() if f.name.startswith("baseline-"))
        names = zipfile.ZipFile(io.BytesIO(core.zip_folder(plan))).namelist()
        assert f"{plan.name}/manifest.json" in names and f"{plan.name}/places.parquet" in names
        wb = load_workbook(io.BytesIO(core.xlsx_bytes([base, plan])))
        assert {"headline", "places"} <= set(wb.sheetnames)
        print(f"screenshot: {tmp_path / 'dashboard.png'}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_dashboard_reaches_the_engine_through_the_runner_only():
    import ast

    for f in (ROOT / "sim" / "dashboard").glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("sim.engine"):
                assert node.module == "sim.engine.runner", (f, node.module)
            if isinstance(node, ast.Import):
                for a in node.names:
                    assert not a.name.startswith("sim.engine"), (f, a.name)
