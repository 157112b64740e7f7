"""How a server runs: its jobs folder, access token, upload limit and workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MiB = 2**20


@dataclass(frozen=True)
class Settings:
    """``jobs``: the jobs folder; ``token``: required by every request when set;
    ``loopback_only``: accept only requests addressed to a loopback host name."""

    jobs: Path
    token: str | None = None
    upload_limit: int = 64 * MiB
    workers: int | None = None
    loopback_only: bool = True
