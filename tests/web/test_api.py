"""Every endpoint with good and bad input: typed 4xx answers naming the field, never a 500."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import small_csv, tiny_tissue_yaml, wait_job

FAST = "nf-to-caf-mir9-mir125b"


def refused(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is a typed refusal with this status (and field)."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["message"] and "Traceback" not in response.text
    if field is not None:
        assert error["field"] == field, error
    return error


def upload(client: TestClient, name: str, content: bytes) -> Any:
    return client.post("/api/uploads", params={"name": name}, content=content)


# ------------------------------------------------------------------ evidence


def test_search_by_synonym_filters_and_did_you_mean(client: TestClient) -> None:
    found = client.get("/api/search", params={"text": "adriamycin"}).json()
    assert found["count"] > 0 and not found["suggestions"]
    misspelt = client.get("/api/search", params={"text": "adriamicin"}).json()
    assert misspelt["count"] == 0 and "adriamycin" in misspelt["suggestions"]
    mirnas = client.get("/api/search", params={"cargo_type": "miRNA", "cell": "CAF"}).json()
    assert mirnas["count"] > 0 and all("miRNA" in r["cargo_type"] for r in mirnas["records"])
    facets = client.get("/api/facets").json()
    assert {
        "kinds",
        "cargo_types",
        "cell_types",
        "phenotypes",
        "drugs",
        "subtypes",
        "seeds",
    } <= set(facets)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "rumour"}, "kind"),
        ({"cell": "not-a-cell"}, "cell"),
        ({"cargo_type": "spaceship"}, "cargo_type"),
        ({"text": "x" * 201}, "text"),
    ],
)
def test_search_refuses_bad_criteria(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    refused(client.get("/api/search", params=params), 422, field)
    refused(client.get("/api/network", params=params), 422, field)


def test_record_page_data(client: TestClient) -> None:
    data = client.get("/api/records/s000.mir9-nf-to-caf").json()
    assert data["record"]["reference"] and data["source"]["section"]
    assert data["dynamics"] and data["dynamics"][0]["rule"] == "mir9-caf"
    assert FAST in {s["id"] for s in data["scenarios"]}
    assert "/" not in data["file"]  # a file name, never a server path


@pytest.mark.parametrize("ident", ["no.such-record", "..", "%2e%2e%2fetc%2fpasswd", "a" * 201])
def test_unknown_or_path_like_record_ids(client: TestClient, ident: str) -> None:
    response = client.get(f"/api/records/{ident}")
    assert response.status_code in {404, 422}
    refused(response, response.status_code)


def test_network_and_neighbours(client: TestClient) -> None:
    net = client.get("/api/network", params={"cell": "caf"}).json()["elements"]
    assert any(n["data"]["id"] == "cell:caf" for n in net["nodes"])
    assert all(e["data"]["records"] for e in net["edges"])
    assert client.get("/api/neighbours/CAF").json()["receives"]
    refused(client.get("/api/neighbours/unicorn"), 404, "cell")


def test_exports_download_and_unknown_format(client: TestClient) -> None:
    csv = client.get("/api/exports/csv")
    assert csv.status_code == 200 and csv.text.startswith("id,kind,cargo")
    assert "attachment" in csv.headers["content-disposition"]
    assert client.get("/api/exports/graphml").text.startswith("<?xml")
    refused(client.get("/api/exports/pdf"), 422, "fmt")


# ------------------------------------------------------------------ scenarios


def test_shipped_scenarios_and_validation_with_lines(client: TestClient) -> None:
    listed = client.get("/api/scenarios").json()
    assert FAST in {s["id"] for s in listed} and any(s["tissue"] for s in listed)
    shipped = client.get(f"/api/scenarios/{FAST}").json()
    assert shipped["yaml"].startswith("id:") and shipped["parameters"]
    broken = shipped["yaml"].replace("duration: 30", "duration: -3")
    error = refused(client.post("/api/scenarios/validate", json={"yaml": broken}), 422, "yaml")
    line = broken.splitlines().index("duration: -3") + 1
    assert [p["line"] for p in error["problems"]] == [line]
    assert error["problems"][0]["file"] == "scenario.yaml"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"yaml": "id: [unclosed"}, "yaml"),
        ({"yaml": "- just\n- a list\n"}, "yaml"),
        ({"yaml": "x" * (512 * 1024 + 1)}, "yaml"),
        ({"scenario": FAST, "yaml": "id: x"}, "yaml"),
        ({}, "yaml"),
        ({"scenario": "../../etc/passwd"}, "scenario"),
        ({"scenario": FAST, "extra": 1}, "extra"),
    ],
)
def test_validate_refuses_bad_yaml(client: TestClient, body: dict[str, Any], field: str) -> None:
    refused(client.post("/api/scenarios/validate", json=body), 422, field)
    refused(client.post("/api/jobs/scenario", json=body), 422, field)


def test_unknown_scenario_ids(client: TestClient) -> None:
    refused(client.get("/api/scenarios/no-such-scenario"), 404, "scenario")
    refused(client.post("/api/jobs/scenario", json={"scenario": "no-such"}), 404, "scenario")
    refused(client.post("/api/scenarios/validate", content=b"id: x"), 422)


def test_whatif_changes_within_range_only(client: TestClient) -> None:
    base = {"scenario": FAST}
    changed = client.post(
        "/api/scenarios/whatif",
        json=base
        | {
            "change": {
                "arm": "release-inhibitor",
                "intervention": 0,
                "field": "efficacy",
                "value": 0.5,
            }
        },
    ).json()
    assert "efficacy: 0.5" in changed["yaml"] and "what if" in changed["title"]
    error = refused(
        client.post(
            "/api/scenarios/whatif",
            json=base | {"change": {"parameter": "secretion_rate", "value": 1e9}},
        ),
        422,
        "yaml",
    )
    assert "outside the range" in error["problems"][0]["message"]
    for change, field in (
        ({"parameter": "no_such", "value": 1}, "change.parameter"),
        ({"arm": "nope", "intervention": 0, "field": "efficacy", "value": 1}, "change.arm"),
        ({"arm": "exosomes", "intervention": 0, "field": "dose", "value": 1}, "change.field"),
        ({"arm": "exosomes", "value": 1}, "change"),
        ({"parameter": "secretion_rate", "value": "NaN"}, "change.value"),
    ):
        refused(client.post("/api/scenarios/whatif", json=base | {"change": change}), 422, field)


def test_run_refusals(client: TestClient) -> None:
    refused(
        client.post("/api/jobs/scenario", json={"scenario": FAST, "solver": "tissue"}),
        422,
        "solver",
    )
    refused(
        client.post(
            "/api/jobs/scenario",
            json={"scenario": "caf-ring-mir9-mir125b", "solver": "tissue", "arms": ["x"]},
        ),
        422,
        "arms",
    )
    refused(client.post("/api/jobs/scenario", json={"scenario": FAST, "seed": -1}), 422, "seed")


def test_scenario_job_results_files_and_archive(client: TestClient) -> None:
    job = client.post("/api/jobs/scenario", json={"scenario": FAST, "seed": 3}).json()
    assert job["state"] == "queued"
    done = wait_job(client, job["id"])
    assert done["state"] == "done" and done["progress"] == 1.0
    result = client.get(f"/api/jobs/{job['id']}/result").json()
    assert result["summary"]["checks"] and all(c["passed"] for c in result["summary"]["checks"])
    assert set(result["series"]) == {"exosomes", "mirna-knockdown", "release-inhibitor"}
    assert result["summary"]["rules"][0]["parameters"]
    files = client.get(f"/api/jobs/{job['id']}/files").json()
    assert {"report.html", "summary.json", "timeseries.csv"} <= set(files)
    report = client.get(f"/api/jobs/{job['id']}/files/report.html")
    assert report.status_code == 200 and "sandbox" in report.headers["content-security-policy"]
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/jobs/{job['id']}/archive").content))
    assert {"report.html", "scenario.yaml", "timeseries.csv"} <= set(archive.namelist())
    for name in ("../input/scenario.yaml", "..%2Finput%2Fscenario.yaml", "/etc/passwd", "nope.txt"):
        refused(client.get(f"/api/jobs/{job['id']}/files/{name}"), 404)
    refused(client.post(f"/api/jobs/{job['id']}/cancel"), 409, "job_id")
    refused(
        client.get(f"/api/jobs/{job['id']}/snapshot", params={"arm": "exosomes", "day": 0}), 422
    )


def test_tissue_job_snapshots(client: TestClient) -> None:
    body = {"yaml": tiny_tissue_yaml(), "solver": "tissue", "arms": ["exosomes"]}
    job = client.post("/api/jobs/scenario", json=body).json()
    assert wait_job(client, job["id"])["state"] == "done"
    result = client.get(f"/api/jobs/{job['id']}/result").json()
    assert result["snapshots"] == {"exosomes": [0.0, 1.0]} and result["series"]["exosomes"]["day"]
    snap = client.get(
        f"/api/jobs/{job['id']}/snapshot", params={"arm": "exosomes", "day": 1}
    ).json()
    assert len(snap["cells"]["x"]) >= 50 and snap["fields"] and snap["dx"] == 20.0
    field = next(iter(snap["fields"].values()))
    assert len(field) == len(field[0]) == 15
    for params, field_name in (
        ({"arm": "nope", "day": 1}, "arm"),
        ({"arm": "exosomes", "day": 5}, "day"),
    ):
        refused(client.get(f"/api/jobs/{job['id']}/snapshot", params=params), 404, field_name)
    refused(client.get(f"/api/jobs/{job['id']}/snapshot", params={"arm": "../x", "day": -1}), 422)


@pytest.mark.parametrize("ident", ["0" * 32, "not-a-job", "../../jobs.sqlite"])
def test_unknown_jobs(client: TestClient, ident: str) -> None:
    for path in ("", "/result", "/files", "/archive"):
        response = client.get(f"/api/jobs/{ident}{path}")
        refused(response, 404)
    refused(client.post(f"/api/jobs/{ident}/cancel"), 404)


def test_cancel_a_queued_job_and_results_of_unfinished_jobs(client: TestClient) -> None:
    slow = client.post(
        "/api/jobs/scenario", json={"scenario": "tnbc-default-all-mechanisms"}
    ).json()
    queued = client.post("/api/jobs/scenario", json={"scenario": FAST}).json()
    cancelled = client.post(f"/api/jobs/{queued['id']}/cancel").json()
    assert cancelled["state"] == "cancelled"
    refused(client.get(f"/api/jobs/{queued['id']}/result"), 409, "job_id")
    client.post(f"/api/jobs/{slow['id']}/cancel")
    assert wait_job(client, slow["id"])["state"] == "cancelled"
    after = client.post("/api/jobs/scenario", json={"scenario": FAST}).json()
    assert wait_job(client, after["id"])["state"] == "done"  # the worker was replaced


# ------------------------------------------------------------------ uploads and biopsy


@pytest.mark.parametrize(
    ("name", "content", "status", "field"),
    [
        ("run.exe", b"MZ\x90\x00", 415, "name"),
        ("table", b"a,b\n1,2\n", 415, "name"),
        ("../../etc/passwd.csv", b"a,b\n1,2\n", 422, "name"),
        ("..\\x.csv", b"a,b\n1,2\n", 422, "name"),
        ("binary.csv", b"\x00\x01\x02" * 100, 415, "file"),
        ("latin.csv", "a,b\n\xe9,1\n".encode("latin-1") + b"x" * 100, 415, "file"),
        ("fake.h5ad", b"not hdf5 at all", 415, "file"),
        ("empty.csv", b"", 422, "file"),
        ("big.csv", b"a,b\n" + b"1,2\n" * (300 * 1024), 413, "file"),
    ],
)
def test_uploads_refused(
    client: TestClient, name: str, content: bytes, status: int, field: str
) -> None:
    refused(upload(client, name, content), status, field)


def test_upload_is_stored_under_a_generated_name(client: TestClient) -> None:
    info = upload(client, "my serum table.csv", small_csv()).json()
    assert info["name"] == "my serum table.csv" and info["format"] == "wide"
    assert {"sample", "status"} <= set(info["columns"]) and "hsa-miR-21-5p" not in info["columns"]
    assert client.get(f"/api/uploads/{info['id']}").json()["size"] == info["size"]
    refused(client.get("/api/uploads/" + "f" * 32), 404, "upload")
    refused(client.get("/api/uploads/..%2F..%2Fjobs.sqlite"), 404)


def test_fit_refusals_name_the_field(client: TestClient) -> None:
    data = upload(client, "serum.csv", small_csv()).json()["id"]
    fit = {"data": data, "label": "status", "outer_folds": 2, "inner_folds": 2, "bootstrap": 20}
    refused(client.post("/api/jobs/biopsy-fit", json=fit | {"data": "f" * 32}), 404, "data")
    error = refused(client.post("/api/jobs/biopsy-fit", json=fit | {"label": "nope"}), 422, "data")
    assert error["problems"][0]["file"] == "serum.csv" and "nope" in error["problems"][0]["field"]
    refused(
        client.post("/api/jobs/biopsy-fit", json=fit | {"positive": "martian"}), 422, "positive"
    )
    refused(client.post("/api/jobs/biopsy-fit", json=fit | {"outer_folds": 1}), 422, "outer_folds")
    refused(client.post("/api/jobs/biopsy-fit", json=fit | {"task": "astrology"}), 422, "task")
    refused(client.post("/api/jobs/biopsy-fit", json=fit | {"data": "../x"}), 422, "data")
    predict = {"data": data, "model_job": "0" * 32}
    refused(client.post("/api/jobs/biopsy-predict", json=predict), 404, "job_id")


def test_fit_then_score_new_samples(client: TestClient) -> None:
    data = upload(client, "serum.csv", small_csv()).json()["id"]
    fit = {"data": data, "label": "status", "positive": "cancer", "outer_folds": 2}
    fit |= {"inner_folds": 2, "bootstrap": 20, "panel": 2}
    job = client.post("/api/jobs/biopsy-fit", json=fit).json()
    assert wait_job(client, job["id"])["state"] == "done"
    result = client.get(f"/api/jobs/{job['id']}/result").json()
    assert result["metrics"]["cv_auc"]["value"] > 0.8
    assert set(result["roc"]) == {"model", "baseline"}
    refused(
        client.post(
            "/api/jobs/biopsy-predict", json={"data": data, "model_job": job["id"]} | {"x": 1}
        ),
        422,
    )
    new = upload(client, "new.csv", small_csv(10, seed=1)).json()["id"]
    scored = client.post(
        "/api/jobs/biopsy-predict", json={"data": new, "model_job": job["id"]}
    ).json()
    assert wait_job(client, scored["id"])["state"] == "done"
    assert client.get(f"/api/jobs/{scored['id']}/result").json()["count"] == 10
    scenario = client.post("/api/jobs/scenario", json={"scenario": FAST}).json()
    refused(
        client.post("/api/jobs/biopsy-predict", json={"data": new, "model_job": scenario["id"]}),
        422,
        "model_job",
    )


# ------------------------------------------------------------------ safety


def test_pages_openapi_and_security_headers(client: TestClient) -> None:
    for page in ("/", "/record", "/network", "/studio", "/biopsy", "/jobs"):
        response = client.get(page)
        assert response.status_code == 200 and "<main" in response.text
        assert "script-src 'self'" in response.headers["content-security-policy"]
    schema = client.get("/openapi.json").json()
    assert "/api/search" in schema["paths"] and "/api/jobs/scenario" in schema["paths"]
    assert client.get("/static/vendor/plotly.min.js").status_code == 200
    refused(client.get("/no/such/page"), 404)
    refused(client.get("/static/../jobs.sqlite"), 404)


def test_only_loopback_hosts_and_same_origin_changes(client: TestClient) -> None:
    refused(client.get("/api/health", headers={"host": "evil.example"}), 400, "host")
    body = {"scenario": FAST}
    refused(
        client.post("/api/jobs/scenario", json=body, headers={"origin": "http://evil.example"}),
        403,
        "origin",
    )
