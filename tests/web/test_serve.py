"""``exotwin serve`` refuses unsafe settings; an access token guards every request."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from exotwin.cli import app as cli
from exotwin.web.app import create_app
from exotwin.web.settings import Settings

TOKEN = "s3cret-token-of-32-characters-xx"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "give --token"),
        (["--host", "192.168.1.5", "--token", "short"], "at least 16"),
        (["--host", "example.org"], "give --token"),
    ],
)
def test_serve_refuses_unsafe_settings(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["serve", "--jobs", str(tmp_path), *args], env={"EXOTWIN_TOKEN": ""}
    )
    assert result.exit_code == 2 and message in result.output


def test_a_token_guards_every_request(tmp_path: Path) -> None:
    app = create_app(Settings(jobs=tmp_path, token=TOKEN, loopback_only=False, workers=1))
    with TestClient(app, base_url="http://10.0.0.7") as client:
        refused = client.get("/api/search")
        assert refused.status_code == 401 and refused.json()["error"]["field"] == "token"
        assert client.get("/", params={"token": "wrong-token-000000000"}).status_code == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert client.get("/api/health", headers=bearer).status_code == 200
        first = client.get("/studio", params={"token": TOKEN, "job": "x"}, follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/studio?job=x"
        assert "httponly" in first.headers["set-cookie"].lower()
        assert client.get("/api/health").status_code == 200  # the cookie now carries the token
