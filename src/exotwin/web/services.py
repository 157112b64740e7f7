"""What the app's endpoints share: settings, the evidence graph, the model library, the jobs
folder, the uploads and the worker slots."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import Any

from ..datafiles import ExotwinError
from ..knowledge import load_knowledge
from ..knowledge.exports import export
from ..model import compile_arm, load_library, load_scenario, packaged_scenarios
from .jobs import JobStore
from .runner import Runner
from .settings import Settings
from .uploads import UploadStore


def shipped() -> dict[str, Path]:
    """Shipped scenario files by id, compartment and tissue."""
    return {**packaged_scenarios(), **packaged_scenarios("tissue")}


class Services:
    """Loaded once per server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.kb = load_knowledge()
        self.lib = load_library(self.kb)
        self.store = JobStore(settings.jobs)
        self.uploads = UploadStore(self.store.root, settings.upload_limit)
        self.runner = Runner(self.store, settings.workers)
        self._exports: dict[str, bytes] = {}
        self._usage: dict[str, list[dict[str, str]]] | None = None
        self._lock_fd: int | None = None

    def start(self) -> None:
        """Take the jobs folder (one server per folder), then start the workers."""
        fd = os.open(self.store.root / "server.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RuntimeError(
                f"another exotwin server uses the jobs folder {self.store.root}"
            ) from None
        self._lock_fd = fd
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def export_bytes(self, fmt: str) -> bytes:
        """One export of the graph (written by the knowledge layer's own writer)."""
        if fmt not in self._exports:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "export"
                export(self.kb, fmt, path)
                self._exports[fmt] = path.read_bytes()
        return self._exports[fmt]

    def scenario_usage(self) -> dict[str, list[dict[str, str]]]:
        """Record id → the shipped scenarios that use it: whose checks reproduce it, or whose
        compiled arms use a rule resting on it."""
        if self._usage is None:
            usage: dict[str, dict[str, dict[str, str]]] = {}
            for ident, path in shipped().items():
                try:
                    scenario = load_scenario(path, self.kb, self.lib)
                    rules = {r for a in scenario.arms for r in self._rules(scenario, a)}
                except ExotwinError:
                    continue
                entry = {"id": ident, "title": scenario.title}
                records = set(scenario.records)
                for rule in rules:
                    records |= {self.lib.rules[rule].record, *self.lib.rules[rule].also}
                for record in records:
                    usage.setdefault(record, {})[ident] = entry
            self._usage = {k: list(v.values()) for k, v in usage.items()}
        return self._usage

    def _rules(self, scenario: Any, arm: Any) -> list[str]:
        return list(compile_arm(self.kb, self.lib, scenario, arm).rules_used)

    def record_dynamics(self, record_id: str) -> list[dict[str, Any]]:
        """The model rules that make a record dynamic, with their parameters."""
        out = []
        for rule in self.lib.rules.values():
            if record_id == rule.record or record_id in rule.also:
                params = {
                    name: self.lib.rule_param(rule, name).model_dump()
                    for name in ("loading", "half_max", "hill", "max_rate", "fold")
                }
                effects = getattr(self.kb.records[rule.record], "effects", [])
                compiled = [e.phenotype for e in effects if e.phenotype not in rule.omit]
                out.append(
                    {
                        "rule": rule.id,
                        "effects": compiled if rule.omit else [],  # []: all of the record's
                        "omitted": rule.omit,
                        "parameters": params,
                    }
                )
        return out
