"""The uploaded materials' HTTP API in one process (issue 16): the station's gateway run by
nameko's `container_factory` on its own database, a recording relay in place of the broker.
A counter uploads a scan as the raw body; the type is read from the content; a text file
named .pdf is 400, a file over 10 MB is 413, both JSON naming the file, and nothing is kept;
a browser form (multipart) is not taken by the API; the bytes come back inline with their
type and `nosniff`, only to users of the station who may see the case."""
import pytest
from nameko.testing.services import replace_dependencies
from sqlalchemy import func, select

from services.gateway.service import GatewayService
from shared.auth import roles
from shared.db.models import MaterialBlob, MaterialFile
from shared.materials_files.store import sha256_of
from shared.messages import CASE_FILE
from tests.support.inprocess import (  # noqa: F401 (station_url is a fixture)
    SOUTH, SOUTH_VILLAGE, declare_rpc_exchange, filing, service_config, station_url,
)
from tests.support.sample_files import jpeg, pdf, pdf_of_size, png

ALL_MZ_002 = ["M01", "M02", "M03", "M04", "M05"]
MB = 1024 * 1024


@pytest.fixture
def village(container_factory, web_config, station_url, web_session):
    declare_rpc_exchange()
    station, url = station_url(SOUTH_VILLAGE)
    container = container_factory(GatewayService, service_config(SOUTH_VILLAGE, url, **web_config))
    replace_dependencies(container, "district_records", desk=station.desk, material_files=station.material_files)
    container.start()
    _, token = station.add_user(roles.VILLAGE_AGENT, username="agent")

    def api(method, path, token=token, **kwargs):
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **kwargs.pop("headers", {})}
        return web_session.request(method, path, headers=headers, timeout=30, **kwargs)
    return station, api


def kept(station):
    with station.database.reading() as session:
        return (session.scalar(select(func.count()).select_from(MaterialFile)),
                session.scalar(select(func.count()).select_from(MaterialBlob)))


def new_case(api):
    response = api("POST", "/api/cases", json=filing("MZ-002", ALL_MZ_002))
    assert response.status_code == 201, response.text
    return response.json()["case_no"]


def upload(api, case_no, material, content, filename, content_type="application/pdf"):
    return api("POST", f"/api/cases/{case_no}/materials/{material}", params={"filename": filename},
               data=content, headers={"Content-Type": content_type})


def test_a_scan_is_uploaded_listed_and_shown_inline_and_follows_its_case(village):
    station, api = village
    case_no = new_case(api)                       # accepted and already forwarded to the township
    scan = pdf("ID card")
    answer = upload(api, case_no, "M01", scan, "身份证.pdf")
    assert answer.status_code == 201, answer.text
    assert answer.json()["media_type"] == "application/pdf" and answer.json()["sha256"] == sha256_of(scan)
    photo = upload(api, case_no, "M02", jpeg(), "photo.bin", content_type="application/octet-stream")
    assert photo.status_code == 201 and photo.json()["media_type"] == "image/jpeg"
    listing = api("GET", f"/api/cases/{case_no}/files").json()
    assert [(f["material"], f["filename"]) for f in listing["files"]] == [("M01", "身份证.pdf"), ("M02", "photo.bin")]
    shown = api("GET", f"/api/cases/{case_no}/files/{sha256_of(scan)}")
    assert shown.status_code == 200 and shown.content == scan
    assert shown.headers["Content-Type"] == "application/pdf"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    # the case left for the township at filing: each file is sent after it
    assert [(m["to"], m["body"]["material"]) for m in station.relay.of_kind(CASE_FILE)] == [
        (SOUTH, "M01"), (SOUTH, "M02")]


def test_a_text_file_named_pdf_is_refused_400_naming_it_and_nothing_is_kept(village):
    station, api = village
    case_no = new_case(api)
    answer = upload(api, case_no, "M01", b"name,id\nhuang,4452\n" * 20, "申请表.pdf")
    assert answer.status_code == 400 and answer.json()["error"] == "INVALID_INPUT"
    assert "“申请表.pdf”不是PDF、JPEG、PNG文件" in answer.json()["message"]
    assert kept(station) == (0, 0)


def test_a_file_over_10_mb_is_refused_413_naming_it_and_nothing_is_kept(village):
    station, api = village
    case_no = new_case(api)
    answer = upload(api, case_no, "M01", pdf_of_size(10 * MB + 1), "扫描件.pdf")
    assert answer.status_code == 413 and answer.json()["error"] == "PAYLOAD_TOO_LARGE"
    assert "“扫描件.pdf”" in answer.json()["message"] and "10.0 MB的上限" in answer.json()["message"]
    assert kept(station) == (0, 0)
    exactly = upload(api, case_no, "M01", pdf_of_size(10 * MB), "扫描件.pdf")
    assert exactly.status_code == 201 and kept(station) == (1, 1)


def test_the_api_takes_no_form_and_no_stranger(village):
    station, api = village
    case_no = new_case(api)
    form = api("POST", f"/api/cases/{case_no}/materials/M01", files={"file": ("id.png", png(), "image/png")})
    assert form.status_code == 415  # multipart: what another site's page could send
    assert upload(api, case_no, "M01", png(), "id.png", content_type="image/png").status_code == 201
    digest = sha256_of(png())
    assert api("GET", f"/api/cases/{case_no}/files/{digest}", token=None).status_code == 401
    assert upload(api, case_no, "M02", png(), "x.png", content_type="image/png", ).status_code == 201
    assert api("GET", f"/api/cases/{case_no}/files/{'0' * 64}").status_code == 404
    assert api("GET", f"/api/cases/{case_no}/files/not-a-hash").status_code == 400
    assert upload(api, case_no, "M99", png(), "x.png", content_type="image/png").status_code == 400
    assert kept(station) == (2, 1)
