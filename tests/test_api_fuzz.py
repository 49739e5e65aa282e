"""The OpenAPI document is valid, and a property-based run against it (schemathesis)
gets no 5xx from any kind of station: every bad request is refused with a 4xx."""
import os
import re
import subprocess
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate

from tests.support.databases import ON_POSTGRESQL
from tests.test_case_network import DISTRICT, SOUTH, SOUTH_VILLAGE, running_case_network

SCHEMATHESIS = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).resolve().parents[1] / ".venv")) / "bin" / "schemathesis"
# examples per operation: 70 gives about 2,600-4,100 requests per kind of station. The
# PostgreSQL pass of the suite runs fewer (about 1,500-2,400), so both passes fit in 20
# minutes; hostile text that only PostgreSQL refuses is also tested in test_case_network.
EXAMPLES = os.environ.get("TONGBAN_FUZZ_EXAMPLES", "40" if ON_POSTGRESQL else "70")
# requests in flight at once: the fuzzer's own work (generating the next request) then
# overlaps with the station's answering, on separate cores
WORKERS = os.environ.get("TONGBAN_FUZZ_WORKERS", "2")


@pytest.fixture(scope="module")
def net():
    with running_case_network() as network:
        yield network


@pytest.mark.parametrize("station", [DISTRICT, SOUTH])
def test_openapi_document_validates(net, station):
    document = requests.get(net.launcher.url_of(station) + "/api/openapi.json", timeout=10).json()
    validate(document)
    assert ("/api/catalogue/items" in document["paths"]) == (station == DISTRICT)
    filing = document["paths"]["/api/cases"]["post"]["requestBody"]["content"]["application/json"]
    assert filing["example"]["item_code"] and "Filing" in document["components"]["schemas"]


# who the fuzzer is: the user reaching the most endpoints at each kind of station (the
# district's administrator edits the catalogue; the counters file cases)
FUZZ_USERS = {DISTRICT: "admin", SOUTH: "staff", SOUTH_VILLAGE: "agent"}


@pytest.mark.parametrize("station", [DISTRICT, SOUTH, SOUTH_VILLAGE], ids=["district", "township", "village"])
def test_fuzzing_finds_no_server_error(net, station, tmp_path):
    url = net.launcher.url_of(station) + "/api/openapi.json"
    token = net.client.token(station, FUZZ_USERS[station])
    # logging out would end the fuzzer's own session and leave it knocking at the door
    run = subprocess.run([str(SCHEMATHESIS), "run", url, "--checks", "not_a_server_error",
                          "-H", f"Authorization: Bearer {token}", "--exclude-path", "/api/logout",
                          "--max-examples", EXAMPLES, "--workers", WORKERS, "--seed", "20261122", "--request-timeout", "30"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    summary = run.stdout[-4000:]
    assert run.returncode == 0, summary
    generated = int(re.search(r"(\d+) generated", run.stdout).group(1))
    print(f"{station}: {generated} requests, no server error")
    assert generated >= 29 * int(EXAMPLES), summary  # at least 2,030 requests at 70 examples
