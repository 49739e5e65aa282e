"""The online hall's operations on a station's database, in this process (both databases):
the SMS code checked and used up by the application, the files kept with the case in its
transaction, every pre-review answer's notice to the resident written in the answer's
transaction (a refused answer writes none), and the district's patrol supervising the
one-working-day limit of a pre-review like any other limit."""
import datetime as dt

import pytest

from district.supervision_desk import SupervisionDesk
from services.cases import online
from shared.auth import roles
from shared.db.models import ResidentNotice
from shared.exceptions import InvalidInput
from shared.materials_files import store as material_files
from shared.notices import one_time_codes
from shared.notices.outbox import for_case
from tests.support.inprocess import (  # noqa: F401 (station_factory is a fixture)
    DISTRICT, SOUTH, SOUTH_VILLAGE, applicant, station_factory,
)
from tests.support.sample_files import jpeg, pdf

ITEM = "RS-005"   # 网上预审, three core materials, decided at the district


def sms_code(station, mobile):
    """Ask a code as the portal does; read it from its notice (the SMS the resident gets)."""
    with station.database.transaction() as session:
        notice_id = one_time_codes.issue(session, station.code, mobile, online.CODE_PURPOSE, "127.0.0.1")
    with station.database.reading() as session:
        row = session.query(ResidentNotice).filter_by(notice_id=notice_id).one()
        return row.params["code"]


def application(station, mobile="13612345678", code=None):
    person = dict(applicant(), phone=mobile)
    return {"item_code": ITEM, "applicant": person, "code": code or sms_code(station, mobile)}


def notices_of(station, case_no):
    with station.database.reading() as session:
        return [(n.kind, n.mobile) for n in for_case(session, case_no)]


def test_the_code_is_checked_and_used_up_and_the_files_are_kept_with_the_case(station_factory):
    village = station_factory(SOUTH_VILLAGE)
    data = application(village)
    uploads = [("M01", "申请表.pdf", pdf()), ("M02", "身份证.jpg", jpeg())]
    wrong = dict(data, code="000000" if data["code"] != "000000" else "111111")
    with pytest.raises(InvalidInput, match="验证码"):
        online.apply(village.desk, wrong, uploads)
    case = online.apply(village.desk, data, uploads)
    assert case["status"] == "pre_review" and case["materials_submitted"] == ["M01", "M02"]
    assert case["query_code"] and case["visits"] == 0
    with village.database.reading() as session:
        kept = material_files.list_files(session, case["case_no"])
    assert sorted(f["material"] for f in kept) == ["M01", "M02"]
    with pytest.raises(InvalidInput, match="验证码"):  # used up by the application
        online.apply(village.desk, data, uploads)
    # the district learns of it like any case (its record), and the pre-review is supervised
    assert village.relay.of_kind("case.record", to=DISTRICT)


def test_each_answer_writes_its_notice_in_its_transaction_and_a_refused_one_none(station_factory):
    village = station_factory(SOUTH_VILLAGE)
    clerk = village.user(roles.VILLAGE_AGENT, username="agent")
    case = online.apply(village.desk, application(village, "13700001111"), [("M01", "a.pdf", pdf())])
    case_no = case["case_no"]
    with pytest.raises(InvalidInput):  # a refusal needs its reason: nothing changes, no notice
        online.answer(village.desk, case_no, {"answer": "refuse"}, clerk)
    assert notices_of(village, case_no) == []
    online.answer(village.desk, case_no, {"answer": "supplement", "materials": ["M02", "M03"]}, clerk)
    assert notices_of(village, case_no) == [("supplement_needed", "13700001111")]
    online.resubmit(village.desk, case_no, [("M02", "b.jpg", jpeg()), ("M03", "c.pdf", pdf())])
    online.answer(village.desk, case_no, {"answer": "pass"}, clerk)
    accepted = online.accept_with_originals(village.desk, case_no, {}, clerk)
    assert accepted["visits"] == 1 and accepted["acceptance"] == "accepted"
    assert [k for k, _ in notices_of(village, case_no)] == ["supplement_needed", "pre_review_answer", "acceptance"]
    # a counter filing sends no SMS (its receipt is on paper) and takes a landline number
    landline = dict(applicant(), phone="0663-3212345")
    filed = village.desk.file({"item_code": ITEM, "applicant": landline, "materials": ["M01", "M02", "M03"],
                               "agent": "林代办"}, clerk)
    assert filed["visits"] == 1 and notices_of(village, filed["case_no"]) == []


def test_the_district_patrol_cards_a_pre_review_left_past_its_day(station_factory):
    village = station_factory(SOUTH_VILLAGE)
    district = station_factory(DISTRICT)
    case = online.apply(village.desk, application(village, "13800002222"), [("M01", "a.pdf", pdf())])
    for message in village.relay.of_kind("case.record", to=DISTRICT):
        district.receive(message)
    record = district.case(case["case_no"])
    assert record["status"] == "pre_review" and record["due_date"] == "2026-03-03"
    district.clock.advance(days=3)  # Thursday: the Tuesday limit has passed
    raised = SupervisionDesk(district.database, district.relay, district.info, district.clock).patrol()
    assert (case["case_no"], "yellow_card") in {(a["case_no"], a["kind"]) for a in raised}
    assert dt.date(2026, 3, 5) == district.clock.today()
