"""The app in real Chromium: search and open a record, click the network, run a scenario,
fit a classifier on GSE73002, survive a restart; axe-core finds no critical violation.

Screenshots of every page go to ``out/web-screenshots/`` (ignored by git).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from .conftest import Server, axe, screenshot, tiny_tissue_yaml

FAST = "nf-to-caf-mir9-mir125b"


def test_search_did_you_mean_and_open_a_record(server: Server, page: Any) -> None:
    page.goto(f"{server.url}/")
    page.get_by_label("Search (any name or synonym)").fill("adriamicin")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="adriamycin").click()
    page.wait_for_selector("#results table")
    assert "record(s)" in page.inner_text("#count") and page.input_value("#q") == "adriamycin"
    assert not axe(page)
    screenshot(page, "explorer")
    page.locator("#results a").first.click()
    page.wait_for_selector("text=Citation")
    assert "Reference" in page.inner_text("#record") and "In the simulator" in page.inner_text(
        "#record"
    )
    assert not axe(page)
    screenshot(page, "record")


def test_network_click_a_node_then_pick_one_by_keyboard(server: Server, page: Any) -> None:
    page.goto(f"{server.url}/network?cell=caf")
    page.wait_for_function("() => typeof cy !== 'undefined' && cy && cy.nodes().length > 0")
    x, y = page.evaluate(
        "() => { const p = cy.getElementById('cell:caf').renderedPosition(); return [p.x, p.y]; }"
    )
    box = page.locator("#cy").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector("#details h2")
    assert "cancer-associated fibroblast" in page.inner_text("#details h2")
    assert page.locator("#details a").count() > 0
    page.focus("#node")
    page.select_option("#node", "molecule:hsa-miR-9")
    page.wait_for_function(
        "() => document.querySelector('#details h2').textContent.includes('miR-9')"
    )
    assert not axe(page)
    screenshot(page, "network")


def test_run_a_shipped_scenario_and_see_its_checks(server: Server, page: Any) -> None:
    page.goto(f"{server.url}/studio?scenario={FAST}")
    page.wait_for_selector("text=Valid scenario.")
    editor = page.get_by_label("Scenario YAML")
    text = editor.input_value()
    editor.fill(text.replace("duration: 30", "duration: -1"))
    page.wait_for_selector("#problems button")
    line = text.splitlines().index("duration: 30") + 1
    assert f"line {line}" in page.inner_text("#problems")
    page.locator("#problems button").first.press("Enter")  # moves the caret to that line
    screenshot(page, "studio-problem")
    editor.fill(text)
    page.wait_for_selector("text=Valid scenario.")
    page.get_by_role("button", name="Run scenario").click()
    page.wait_for_selector("#checks", timeout=60_000)
    assert page.locator("#checks td.pass").count() == 3
    figures = page.locator("#charts figure")
    assert (
        figures.count() >= 1 and figures.count() == page.locator("#charts .js-plotly-plot").count()
    )
    assert not axe(page)
    screenshot(page, "studio-results")
    editor.fill(tiny_tissue_yaml())
    page.wait_for_selector("text=Valid scenario.")
    page.select_option("#solver", "tissue")
    page.select_option("#arms", "exosomes")
    page.get_by_role("button", name="Run scenario").click()
    page.wait_for_selector("#snapshot .js-plotly-plot", timeout=60_000)
    page.fill("#snap-day", "1")
    page.dispatch_event("#snap-day", "input")
    page.wait_for_function("() => document.querySelector('output[for=snap-day]').value === 'day 1'")
    screenshot(page, "studio-tissue")


def test_upload_gse73002_fit_and_see_the_auc(server: Server, page: Any, shared_dir: Path) -> None:
    page.goto(f"{server.url}/biopsy")
    page.set_input_files("#data-file", str(shared_dir / "data" / "gse73002_serum_mirna_train.csv"))
    page.wait_for_selector(".upload-name")
    assert page.input_value("#label") == "breast cancer"
    for field, value in (
        ("#outer_folds", "2"),
        ("#inner_folds", "2"),
        ("#bootstrap", "50"),
        ("#panel", "0"),
    ):
        page.fill(field, value)
    page.get_by_role("button", name="Fit classifier").click()
    page.wait_for_selector("#auc", timeout=180_000)
    auc = float(page.inner_text("#auc").split("AUC ")[1].split(" ")[0])
    assert auc > 0.95
    page.wait_for_selector("#results .js-plotly-plot")
    assert not axe(page)
    screenshot(page, "biopsy-results")


def _submit(server: Server, scenario: str) -> str:
    job: dict[str, Any] = httpx.post(
        f"{server.url}/api/jobs/scenario", json={"scenario": scenario}
    ).json()
    return str(job["id"])


def _state(server: Server, job: str) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{server.url}/api/jobs/{job}").json()
    return found


def test_restart_mid_job_keeps_finished_results(server: Server, page: Any) -> None:
    finished = _submit(server, FAST)
    deadline = time.monotonic() + 60
    while _state(server, finished)["state"] != "done" and time.monotonic() < deadline:
        time.sleep(0.1)
    slow = _submit(server, "tnbc-doxorubicin-exosomal-resistance")
    while _state(server, slow)["state"] != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _state(server, finished)["state"] == "done"
    assert _state(server, slow)["state"] == "running"
    server.stop()  # mid-job
    server.start()
    page.goto(f"{server.url}/jobs")
    page.wait_for_selector(f"tr[data-job='{finished}'][data-state='done']")
    screenshot(page, "jobs-after-restart")
    page.goto(f"{server.url}/studio?job={finished}")
    page.wait_for_selector("#checks")
    assert page.locator("#checks td.pass").count() == 3
    deadline = time.monotonic() + 90
    while _state(server, slow)["state"] not in {"done", "failed"} and time.monotonic() < deadline:
        time.sleep(0.3)
    again = _state(server, slow)
    assert again["state"] == "done" and again["attempts"] == 2  # queued again, not lost
