"""An online application made at the district's portal for a village's counter (issue 16),
in this process on both databases, the messages handed from one station's outbox to the
other as their inbox services would: the portal numbers it in its own range at the
village, keeps its files and sends one `case.online_application` and one `case.file` per
file; the village files it once (the same message twice, or the same number again, is
one case) in its pre-review worklist, with the portal's query code; its counter cannot
answer until every file has arrived verified; a broken message or one from a station that
did not take the application is refused with nothing filed (the inbox dead-letters it);
and the resident's lookup at the portal shows the application as sent until the
village's record reaches the district."""
import pytest

from services import online_applications
from services.cases import online
from shared.auth import roles
from shared.cases import online_application, query_codes
from shared.contract import CASE_ONLINE_APPLICATION, InvalidMessage, outgoing_errors
from shared.exceptions import Conflict, InvalidInput
from shared.materials_files import store as material_files
from shared.trust.entitlement import NotEntitled
from tests.support.inprocess import (  # noqa: F401 (station_factory is a fixture)
    DISTRICT, NORTH_VILLAGE, SOUTH_VILLAGE, station_factory,
)
from tests.support.sample_files import jpeg, pdf
from tests.test_pre_review_desk import application

ITEM = "RS-005"  # 网上预审, accepted at every tier, decided at the district


def sent_to(portal, kind, to):
    return portal.relay.of_kind(kind, to=to)


def apply_at_the_district(district, counter=SOUTH_VILLAGE, mobile="13612340001"):
    uploads = [("M01", "申请表.pdf", pdf()), ("M02", "身份证.jpg", jpeg())]
    return online.apply(district.desk, dict(application(district, mobile), counter=counter), uploads)


def test_the_district_portal_sends_the_application_and_its_files_to_the_chosen_counter(station_factory):
    district = station_factory(DISTRICT)
    answer = apply_at_the_district(district)
    number = answer["case_no"]
    assert online_application.parse(number)[0::2] == (SOUTH_VILLAGE, DISTRICT)
    assert answer["status"] == online_applications.SENT and answer["filing_station"] == SOUTH_VILLAGE
    assert answer["query_code"] and answer["materials_submitted"] == ["M01", "M02"]
    assert district.case(number) is None  # not a case of the district's: the village files it
    [message] = sent_to(district, CASE_ONLINE_APPLICATION, SOUTH_VILLAGE)
    assert outgoing_errors({k: v for k, v in message.items() if k != "to"}) == {}
    assert message["message_id"] == online_applications.message_id(number) and message["sender"] == DISTRICT
    assert query_codes.matches(message["body"]["query_code_seal"], answer["query_code"])
    assert "query_code" not in message["body"]  # the seal only
    files = sent_to(district, "case.file", SOUTH_VILLAGE)
    assert sorted(f["body"]["material"] for f in files) == ["M01", "M02"]
    assert sorted(f["sha256"] for f in message["body"]["files"]) == sorted(f["body"]["sha256"] for f in files)


def test_the_default_counter_is_the_residents_village_and_a_counter_that_does_not_accept_is_refused(station_factory):
    district = station_factory(DISTRICT)
    data = application(district, "13612340002")  # lives at the south village
    answer = online.apply(district.desk, data, [("M01", "a.pdf", pdf())])
    assert answer["filing_station"] == SOUTH_VILLAGE
    other = dict(application(district, "13612340003"), item_code="ZJ-005", counter=NORTH_VILLAGE)
    with pytest.raises(InvalidInput, match="does not accept"):  # ZJ-005: districts and townships only
        online.apply(district.desk, other, [])
    # the district's own counter: filed here as before
    here = online.apply(district.desk, dict(application(district, "13612340004"), counter=DISTRICT), [])
    assert here["status"] == "pre_review" and district.case(here["case_no"])["filing_station"] == DISTRICT


def test_the_village_files_it_once_in_its_worklist_and_answers_once_the_files_are_in(station_factory):
    district, village = station_factory(DISTRICT), station_factory(SOUTH_VILLAGE)
    answer = apply_at_the_district(district)
    number = answer["case_no"]
    [message] = sent_to(district, CASE_ONLINE_APPLICATION, SOUTH_VILLAGE)
    case = online_applications.receive(village.desk, message)
    assert case["status"] == "pre_review" and case["filing_station"] == case["holder_station"] == SOUTH_VILLAGE
    assert case["online"]["portal"] == DISTRICT and case["channel"] == "online" and case["visits"] == 0
    assert "测试二区行政服务中心网上办事大厅" in case["history"][-1]["reason"]
    # the same message again, and the same application under another message id: one case
    assert online_applications.receive(village.desk, message) is None
    assert online_applications.receive(village.desk, dict(message, message_id="again-" + number)) is None
    assert len(village.relay.of_kind("case.record", to=DISTRICT)) == 1
    clerk = village.user(roles.VILLAGE_AGENT, username="agent")
    listed = village.desk.list(clerk, status="pre_review", held_here=True)
    assert [c["case_no"] for c in listed[1]] == [number]
    # the counter cannot answer before the files have arrived verified
    with pytest.raises(Conflict, match="材料文件尚未全部到达"):
        online.answer(village.desk, number, {"answer": "pass"}, clerk)
    for file_message in sent_to(district, "case.file", SOUTH_VILLAGE):
        village.receive(file_message)
    with village.database.reading() as session:
        kept = material_files.list_files(session, number)
    assert sorted((f["material"], f["received_from"]) for f in kept) == [("M01", DISTRICT), ("M02", DISTRICT)]
    assert online.answer(village.desk, number, {"answer": "pass"}, clerk)["status"] == "pre_review_passed"
    # the resident's query code opens the case at the village
    assert query_codes.matches(village.case(number)["query_code_seal"], answer["query_code"])


def test_a_broken_or_forged_application_files_nothing(station_factory):
    district, village, north = (station_factory(DISTRICT), station_factory(SOUTH_VILLAGE),
                                station_factory(NORTH_VILLAGE))
    apply_at_the_district(district)
    [message] = sent_to(district, CASE_ONLINE_APPLICATION, SOUTH_VILLAGE)
    broken = {**message, "body": {k: v for k, v in message["body"].items() if k != "applicant"}}
    with pytest.raises(InvalidMessage, match="applicant"):
        online_applications.receive(village.desk, broken)
    # the north village passing the district's application off as its own, or numbering
    # one in the district's range: refused, whoever the envelope names
    for forged in ({**message, "sender": NORTH_VILLAGE},
                   {**message, "sender": NORTH_VILLAGE,
                    "body": {**message["body"], "portal_station": NORTH_VILLAGE}}):
        with pytest.raises(NotEntitled):
            online_applications.receive(village.desk, forged)
    assert village.case(message["body"]["case_no"]) is None
    # the north village's own portal may send it, in its own range
    answer = online.apply(north.desk, dict(application(north, "13612340009"), counter=SOUTH_VILLAGE),
                          [("M01", "a.pdf", pdf())])
    [own] = sent_to(north, CASE_ONLINE_APPLICATION, SOUTH_VILLAGE)
    assert online_applications.receive(village.desk, own)["case_no"] == answer["case_no"]


def test_the_resident_sees_it_as_sent_at_the_portal_until_the_district_records_it(station_factory):
    district, village = station_factory(DISTRICT), station_factory(SOUTH_VILLAGE)
    answer = apply_at_the_district(district)
    number, code = answer["case_no"], query_codes.normalize(answer["query_code"])
    shown = online_applications.sent_view(district.desk, number, code)
    assert shown["status"] == online_applications.SENT and shown["applicant_name"] == "黄**"
    assert online_applications.sent_view(district.desk, number, "ABCDEFGH") is None  # a wrong code
    assert online_applications.sent_view(village.desk, number, code) is None  # not this portal's
    [message] = sent_to(district, CASE_ONLINE_APPLICATION, SOUTH_VILLAGE)
    online_applications.receive(village.desk, message)
    [record] = village.relay.of_kind("case.record", to=DISTRICT)
    district.receive(record)  # the village's record: the district holds a copy, as of every case
    assert district.case(number)["status"] == "pre_review"


def test_an_application_for_another_counter_refused_for_its_residence_or_item_leaves_the_sms_code_unused(
        station_factory):
    """As the red-team did: for another station's counter, a residence that is no station
    of the district, or an item not applied for online, was refused only after the
    one-time code was used up, so the resident had to ask for a new one. Now refused
    first (the residence naming its field), and the same code then files the corrected
    application."""
    district = station_factory(DISTRICT)
    files = [("M01", "a.pdf", pdf())]
    data = dict(application(district, "13612340022"), counter=NORTH_VILLAGE)
    nowhere = dict(data, applicant=dict(data["applicant"], residence="449902999999"))
    with pytest.raises(InvalidInput) as refused:
        online.apply(district.desk, nowhere, files)
    assert refused.value.details == {"applicant": {"residence": ["not a township or village of this district"]}}
    assert online.apply(district.desk, data, files)["filing_station"] == NORTH_VILLAGE

    counter_only = dict(application(district, "13612340023"), item_code="MZ-006", counter=SOUTH_VILLAGE)  # counter only
    with pytest.raises(Conflict, match="不受理网上申请"):
        online.apply(district.desk, counter_only, [])
    assert online.apply(district.desk, dict(counter_only, item_code=ITEM), files)["filing_station"] == SOUTH_VILLAGE
    assert len(sent_to(district, CASE_ONLINE_APPLICATION, NORTH_VILLAGE)) == 1
    assert len(sent_to(district, CASE_ONLINE_APPLICATION, SOUTH_VILLAGE)) == 1
