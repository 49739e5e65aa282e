"""Uploaded materials' files in one process (issue 16): the type read from the content,
the limits (10 MB a file, 50 MB a case) with nothing kept on a refusal, files kept once
per content, and their trip with the case village → township → district through the
outbox: verified at each station, a corrupted transfer refused and asked again, a file
uploaded after the case left sent after it, and the district refusing to decide until
every file the case lists has arrived. Stations of tests/cases_data/network_cases.yaml,
each on its own database (SQLite, or PostgreSQL under TONGBAN_TEST_DATABASE)."""
import base64

import pytest
from sqlalchemy import func, select

from shared.auth import roles
from shared.contract import envelope
from shared.db.models import MaterialBlob, MaterialFile
from shared.exceptions import Conflict, Forbidden, InvalidInput, TooLarge
from shared.materials_files import detection, store, transfer
from shared.messages import CASE_FILE, CASE_FILE_REQUEST, CASE_HANDOVER
from shared.trust.entitlement import NotEntitled
from tests.support.inprocess import (  # noqa: F401 (station_factory is a fixture)
    DISTRICT, NORTH_VILLAGE, SOUTH, SOUTH_VILLAGE, filing, station_factory,
)
from tests.support.sample_files import jpeg, pdf, pdf_of_size, png

ALL_MZ_002 = ["M01", "M02", "M03", "M04", "M05"]
MB = 1024 * 1024


def counts(station):
    with station.database.reading() as session:
        return (session.scalar(select(func.count()).select_from(MaterialFile)),
                session.scalar(select(func.count()).select_from(MaterialBlob)))


def files_of(station, case_no):
    with station.database.reading() as session:
        return store.list_files(session, case_no)


@pytest.fixture
def village(station_factory):
    return station_factory(SOUTH_VILLAGE)


@pytest.fixture
def agent(village):
    return village.user(roles.VILLAGE_AGENT, username="agent")


# -- what may be uploaded ---------------------------------------------------------------------
def test_the_type_comes_from_the_content_not_the_name():
    assert detection.detect("scan.bin", pdf()) == "application/pdf"
    assert detection.detect("photo", jpeg()) == "image/jpeg"
    assert detection.detect("户口本.pdf", png()) == "image/png"   # named .pdf, a PNG inside
    with pytest.raises(InvalidInput, match="“申请表.pdf”不是PDF、JPEG、PNG文件") as refused:
        detection.detect("申请表.pdf", b"%PDX this is only text pretending to be a PDF\n" * 20)
    assert "按文件内容识别" in refused.value.message
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
    with pytest.raises(InvalidInput, match="识别为image/gif"):
        detection.detect("x.png", gif + b"\x00" * 40)
    with pytest.raises(InvalidInput, match="空文件"):
        detection.detect("empty.pdf", b"")


def test_a_file_over_10_mb_is_refused_with_413_naming_it_and_nothing_is_kept(village, agent):
    case = village.desk.file(filing("MZ-002", ALL_MZ_002), agent)
    big = pdf_of_size(10 * MB + 1)
    with village.database.transaction() as session:
        with pytest.raises(TooLarge, match="“身份证.pdf”大小为10.0 MB，超过单个文件10.0 MB的上限，未保存"):
            store.store_upload(session, case["case_no"], "M01", big, "身份证.pdf", "agent", SOUTH_VILLAGE)
    assert counts(village) == (0, 0)


def test_a_text_file_named_pdf_is_refused_and_nothing_is_kept(village, agent):
    case = village.desk.file(filing("MZ-002", ALL_MZ_002), agent)
    with pytest.raises(InvalidInput, match="“申请表.pdf”不是PDF"):
        village.material_files.upload(case["case_no"], "M01", b"just some text\n" * 50, "申请表.pdf", agent)
    assert counts(village) == (0, 0)


def test_a_case_holds_at_most_50_mb_of_files(village, agent):
    case_no = village.desk.file(filing("MZ-002", ALL_MZ_002), agent)["case_no"]
    # five different files of exactly 10 MB: 50 MB, the limit itself, is allowed
    tens = [pdf_of_size(10 * MB, text=f"page {n}") for n in range(5)]
    assert {len(f) for f in tens} == {detection.MAX_FILE_BYTES}
    for n, content in enumerate(tens):
        village.material_files.upload(case_no, ALL_MZ_002[n], content, f"scan{n}.pdf", agent)
    assert counts(village) == (5, 5)
    with pytest.raises(TooLarge, match="超过每个办件50.0 MB的上限，未保存"):
        village.material_files.upload(case_no, "M05", png(), "one-more.png", agent)
    assert counts(village) == (5, 5)
    # the same content again (a double click) is kept once and refused nothing
    again = village.material_files.upload(case_no, "M01", tens[0], "scan0.pdf", agent)
    assert again["sha256"] == store.sha256_of(tens[0]) and counts(village) == (5, 5)


def test_a_file_is_kept_once_per_content_and_listed_by_material(village, agent):
    first = village.desk.file(filing("MZ-002", ALL_MZ_002), agent)["case_no"]
    second = village.desk.file(filing("MZ-002", ALL_MZ_002), agent)["case_no"]
    scan = png()
    village.material_files.upload(first, "M01", scan, "id.png", agent)
    village.material_files.upload(second, "M01", scan, "id.png", agent)   # another case, same scan
    village.material_files.upload(first, "M02", jpeg(), "photo.jpg", agent)
    assert counts(village) == (3, 2)  # the PNG's bytes are kept once
    listed = village.material_files.list(first, agent)
    assert [(f["material"], f["media_type"], f["filename"], f["size"]) for f in listed["files"]] == [
        ("M01", "image/png", "id.png", len(scan)), ("M02", "image/jpeg", "photo.jpg", len(jpeg()))]
    view, content = village.material_files.content(first, store.sha256_of(scan), agent)
    assert content == scan and view["uploaded_by"].startswith("测试agent")
    with pytest.raises(InvalidInput, match="“M09”不是事项"):
        village.material_files.upload(first, "M09", png(), "x.png", agent)


def test_who_may_upload_and_see_the_files(station_factory, village, agent):
    case_no = village.desk.file(filing("MZ-002", ALL_MZ_002), agent)["case_no"]
    supervisor = village.user(roles.SUPERVISOR, username="watcher")
    with pytest.raises(Forbidden):
        village.material_files.upload(case_no, "M01", png(), "id.png", supervisor)
    village.material_files.upload(case_no, "M01", png(), "id.png", agent)
    assert len(village.material_files.list(case_no, supervisor)["files"]) == 1  # sees, cannot upload


# -- the trip with the case -------------------------------------------------------------------
def deliver(messages, station):
    """Hand every message addressed to `station` to it; the ones handed."""
    handed = [m for m in messages if m["to"] == station.code and m["kind"] not in ("case.record",)]
    for message in handed:
        station.receive(message)
    return handed


def relay_all(*stations):
    """Deliver what each station sent to the others until nothing new is sent."""
    seen = set()
    moved = True
    while moved:
        moved = False
        for sender in stations:
            for message in list(sender.relay.sent):
                if message["message_id"] in seen:
                    continue
                seen.add(message["message_id"])
                for receiver in stations:
                    if receiver.code == message["to"] and message["kind"] != "case.record":
                        receiver.receive(message)
                        moved = True


def decide(district, case_no):
    reviewer = district.user(roles.REVIEWER, "civil_affairs", username="rev")
    approver = district.user(roles.APPROVER, "civil_affairs", username="app")
    district.desk.decide(case_no, {"step": "review", "outcome": "pass", "department": "civil_affairs"}, reviewer)
    return district.desk.decide(case_no, {"step": "approve", "outcome": "pass", "department": "civil_affairs"},
                                approver)


def test_files_scanned_at_filing_travel_to_the_district_verified_and_then_it_decides(station_factory, agent):
    village, township, district = (station_factory(code) for code in (SOUTH_VILLAGE, SOUTH, DISTRICT))
    scans = [("M01", "身份证.png", png()), ("M02", "户口簿.pdf", pdf("hukou")), ("M03", "照片.jpg", jpeg())]
    case = village.desk.file(filing("MZ-002", ALL_MZ_002), agent, uploads=scans)
    assert [(f["material"], f["media_type"]) for f in case["files"]] == [
        ("M01", "image/png"), ("M02", "application/pdf"), ("M03", "image/jpeg")]
    handover, *files = [m for m in village.relay.sent if m["to"] == SOUTH]
    assert handover["kind"] == CASE_HANDOVER and [m["kind"] for m in files] == [CASE_FILE] * 3
    assert handover["body"]["case"]["files"] == case["files"]
    # the district got the case before its files: it may not decide yet
    for message in village.relay.sent:
        if message["to"] == SOUTH:
            township.receive(message) if message["kind"] == CASE_HANDOVER else None
    for message in township.relay.sent:
        if message["kind"] == CASE_HANDOVER:
            district.receive(message)
    with pytest.raises(Conflict, match="材料文件尚未全部到达本站并通过校验") as refused:
        decide(district, case["case_no"])
    assert "身份证" in refused.value.message
    assert district.case(case["case_no"])["status"] == "pending_review"  # nothing changed
    relay_all(village, township, district)
    at_district = files_of(district, case["case_no"])
    assert sorted((f["material"], f["sha256"], f["received_from"], f["station"]) for f in at_district) == sorted(
        (m, store.sha256_of(c), SOUTH, SOUTH_VILLAGE) for m, _, c in scans)
    assert all(f["verified_at"] for f in at_district)
    assert len(files_of(township, case["case_no"])) == 3  # the township keeps its copy
    assert decide(district, case["case_no"])["status"] == "result_sent"


def test_a_file_uploaded_after_the_case_left_follows_it(station_factory, agent):
    village, township, district = (station_factory(code) for code in (SOUTH_VILLAGE, SOUTH, DISTRICT))
    case = village.desk.file(filing("MZ-002", ALL_MZ_002), agent)
    assert "files" not in case
    relay_all(village, township, district)           # the case is at the district, no files
    late = pdf("late scan")
    village.material_files.upload(case["case_no"], "M04", late, "补扫.pdf", agent)
    relay_all(village, township, district)
    assert [(f["material"], f["sha256"]) for f in files_of(district, case["case_no"])] == [
        ("M04", store.sha256_of(late))]


def test_a_corrupted_transfer_is_not_kept_and_the_file_is_asked_again(station_factory, agent):
    village, township = station_factory(SOUTH_VILLAGE), station_factory(SOUTH)
    scan = png()
    case = village.desk.file(filing("MZ-002", ALL_MZ_002), agent, uploads=[("M01", "id.png", scan)])
    handover, genuine = [m for m in village.relay.sent if m["to"] == SOUTH]
    township.receive(handover)
    tampered = dict(genuine, message_id="tampered-1",
                    body={**genuine["body"], "content": base64.b64encode(png(shade=0x10)).decode()})
    with pytest.raises(transfer.CorruptedTransfer, match="SHA-256 is .*not the one announced; not kept"):
        township.receive(tampered)
    assert counts(township) == (0, 0)
    asked = township.relay.of_kind(CASE_FILE_REQUEST)
    assert [(m["to"], m["body"]["sha256"]) for m in asked] == [(SOUTH_VILLAGE, store.sha256_of(scan))]
    village.receive(asked[0])
    resent = [m for m in village.relay.of_kind(CASE_FILE) if m["message_id"] != genuine["message_id"]]
    assert len(resent) == 1 and resent[0]["body"]["content"] == genuine["body"]["content"]
    assert township.receive(resent[0]) is True
    assert township.receive(genuine) is False   # the first copy, arriving late: kept once
    assert [f["sha256"] for f in files_of(township, case["case_no"])] == [store.sha256_of(scan)]
    # a tampered copy of a file already kept is refused and not asked again
    with pytest.raises(transfer.CorruptedTransfer):
        township.receive(dict(tampered, message_id="tampered-2"))
    assert len(township.relay.of_kind(CASE_FILE_REQUEST)) == 1


def test_a_file_is_accepted_only_from_the_station_before_on_the_route(station_factory, agent):
    village, district = station_factory(SOUTH_VILLAGE), station_factory(DISTRICT)
    case = village.desk.file(filing("MZ-002", ALL_MZ_002), agent, uploads=[("M01", "id.png", png())])
    genuine = village.relay.of_kind(CASE_FILE)[0]
    # the village skipping its township
    with pytest.raises(NotEntitled, match="only the station before this one"):
        district.receive({k: v for k, v in genuine.items() if k != "to"})
    # another village claiming the file
    other = dict(genuine, message_id="other", sender=NORTH_VILLAGE)
    north_township = station_factory(SOUTH)
    with pytest.raises(NotEntitled):
        north_township.receive(other)
    assert counts(district) == (0, 0) and counts(north_township) == (0, 0)
    # a request for files from a station that is not next on the route
    request = envelope(CASE_FILE_REQUEST, {"case_no": case["case_no"], "deciding_station": DISTRICT,
                                           "sha256": genuine["body"]["sha256"], "material": "M01",
                                           "reason": "give it to me"}, DISTRICT)
    with pytest.raises(NotEntitled, match="only the next station"):
        village.receive(request)
