"""Fixtures of the web tests: an in-process app client, a real server subprocess, Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from exotwin.web.app import create_app
from exotwin.web.settings import MiB, Settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("EXOTWIN_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "out" / "web-screenshots"  # out/ is ignored by git

SMALL_CSV_HEADER = (
    "sample,hsa-miR-21-5p,hsa-miR-155-5p,hsa-miR-1246,hsa-miR-92a-3p,hsa-miR-16-5p,status\n"
)


def small_csv(n: int = 60, seed: int = 0) -> bytes:
    """A wide serum-miRNA table with a real difference between cases and controls."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lines = [SMALL_CSV_HEADER]
    for i in range(n):
        case = i % 2
        values = rng.normal(8.0, 1.0, 5) + case * np.array([1.5, 1.0, 2.0, 0.0, 0.0])
        label = "cancer" if case else "healthy"
        lines.append(f"s{i}," + ",".join(f"{v:.3f}" for v in values) + f",{label}\n")
    return "".join(lines).encode()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app in process over a fresh jobs folder (one worker, 1 MiB upload limit)."""
    jobs = tmp_path_factory.mktemp("jobs")
    app = create_app(Settings(jobs=jobs, workers=1, upload_limit=1 * MiB))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def wait_job(client: Any, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll a job until it ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in {"done", "failed", "cancelled"}:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end within {timeout} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``exotwin serve`` in a subprocess over one jobs folder; can be restarted."""

    def __init__(self, jobs: Path, workers: int = 2) -> None:
        self.jobs, self.workers = jobs, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = jobs.parent / f"server-{self.port}.log"

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        command = "from exotwin.cli import main; main()"
        args = ["serve", "--port", str(self.port), "--jobs", str(self.jobs)]
        args += ["--workers", str(self.workers), "--upload-limit", "8"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", command, *args], stdout=log, stderr=log, env=env
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
            if self.proc.poll() is not None:
                break
        raise AssertionError(f"exotwin serve did not start: {self.log.read_text(encoding="utf-8")[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("served") / "jobs")
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never Playwright's own browser builds)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that fails the test on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))

    def console(message: Any) -> None:
        # a refused request (4xx) is logged by Chromium; the page shows it, so it is no error
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"console error: {message.text}")

    opened.on("console", console)
    yield opened
    context.close()
    assert not problems, problems


def screenshot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's critical violations on the page (skips when axe-core is not installed)."""
    if not AXE.is_file():
        pytest.skip(f"axe-core missing at {AXE} (npm ci --prefix tests/js)")
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")  # not subject to the page's CSP
    found: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [v for v in found["violations"] if v["impact"] == "critical"]


def tiny_tissue_yaml() -> str:
    """The shipped CAF-ring tissue scenario shrunk to a 300 µm box, 50 cells and one day."""
    from exotwin.web.services import shipped

    text = shipped()["caf-ring-mir9-mir125b"].read_text(encoding="utf-8")
    for old, new in (
        ("domain: [1000, 1000]", "domain: [300, 300]"),
        ("count: 300, layout: spheroid, radius: 150", "count: 20, layout: spheroid, radius: 60"),
        (
            "count: 600, layout: random, inner_radius: 170",
            "count: 30, layout: random, inner_radius: 80",
        ),
        ("duration: 10", "duration: 1"),
        ("snapshots: [7]", "snapshots: []"),
        ("day: 10", "day: 1"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    return text
