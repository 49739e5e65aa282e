"""The case rules as plain Python: ID numbers, routing, the materials check, the state
machine and the workflow, without a broker."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from shared.calendar import WorkingDayCalendar
from shared.cases import citizen_id, schemas, states
from shared.cases.materials import check_materials
from shared.cases.routing import deciding_station, next_hop, route
from shared.cases.workflow import CaseWorkflow
from shared.exceptions import Conflict, InvalidInput, TransitionForbidden
from shared.messages import CASE_HANDOVER, CASE_RECORD, CASE_RESULT, CASE_SUPPLEMENT
from shared.stations import Network
from shared.validation import load

TZ = ZoneInfo("Asia/Shanghai")
NETWORK = Network.from_dict({
    "district": {"code": "445203", "name": "揭东区"},
    "departments": [{"code": c, "name": n} for c, n in
                    [("civil_affairs", "区民政局"), ("housing", "区住房和城乡建设局"),
                     ("ecology", "生态环境分局"), ("emergency", "区应急管理局")]],
    "stations": [
        {"code": "445203", "tier": "district", "name": "区行政服务中心"},
        {"code": "445203001", "tier": "township", "name": "曲溪街道公共服务中心"},
        {"code": "445203001201", "tier": "village", "name": "东山村便民服务站"},
        {"code": "445203100", "tier": "township", "name": "云路镇公共服务中心"},
        {"code": "445203100201", "tier": "village", "name": "新寮村便民服务站"},
    ]})

ID_1960 = citizen_id.make("445203", dt.date(1960, 5, 3), 12)
ID_1940 = citizen_id.make("445203", dt.date(1940, 2, 1), 7)


def item(**overrides):
    base = {
        "code": "MZ-002", "name": "最低生活保障申请", "version": 3, "status": "current",
        "department": "civil_affairs", "category": "public_service", "processing_type": "promised",
        "joint_departments": [], "decision_steps": ["review", "approve"], "promised_limit_days": 5,
        "legal_limit_days": 20, "authority_tier": "district",
        "accepting_tiers": ["district", "township", "village"], "allows_commitment": False,
        "allows_deficiency": True, "fee": 0, "min_applicant_age": None,
        "materials": [{"code": "M01", "name": "申请书", "kind": "core", "copies": 1},
                      {"code": "M02", "name": "身份证", "kind": "core", "copies": 1},
                      {"code": "M03", "name": "病历资料", "kind": "secondary", "copies": 1}],
    }
    base.update(overrides)
    return base


class FakeCatalogue:
    def __init__(self, *items):
        self.items = {i["code"]: i for i in items}

    def get(self, code):
        from shared.exceptions import NotFound
        if code not in self.items:
            raise NotFound(f"no item {code}")
        return self.items[code]


def workflow(station_code, *items, now=dt.datetime(2026, 11, 23, 9, 30, tzinfo=TZ)):
    return CaseWorkflow(NETWORK.station(station_code), NETWORK, FakeCatalogue(*items),
                        WorkingDayCalendar(), lambda: now)


def filing(materials=("M01", "M02", "M03"), code="MZ-002", id_number=ID_1960, residence="445203001201", **extra):
    return {"item_code": code, "agent": "林代办", "materials": list(materials),
            "applicant": {"name": "黄秀英", "id_number": id_number, "phone": "13800138000",
                          "residence": residence}, **extra}


# -- citizen ID numbers ---------------------------------------------------------------
def test_citizen_id_check_digit_is_verified():
    assert citizen_id.validate(ID_1960) == ID_1960
    wrong = ID_1960[:17] + ("0" if ID_1960[17] != "0" else "1")
    with pytest.raises(InvalidInput, match="check digit"):
        citizen_id.validate(wrong)
    with pytest.raises(InvalidInput, match="birth date"):
        citizen_id.validate("445203" + "19601301" + "0121")


def test_known_valid_number_and_masking():
    assert citizen_id.validate("11010519491231002x") == "11010519491231002X"
    assert citizen_id.mask("11010519491231002X") == "110***********002X"
    assert citizen_id.age_on(ID_1940, dt.date(2026, 2, 1)) == 86


def test_birth_dates_in_the_future_or_before_1900_are_refused():
    today = dt.date(2026, 11, 23)
    born_today = citizen_id.make("445203", today, 5)
    assert citizen_id.validate(born_today, today=today) == born_today  # a newborn's first card
    assert citizen_id.validate(citizen_id.make("445203", dt.date(1900, 1, 1), 5), today=today)
    tomorrow = citizen_id.make("445203", today + dt.timedelta(days=1), 5)
    with pytest.raises(InvalidInput, match=r"applicant\.id_number: .*\(2026-11-24\) is in the future"):
        citizen_id.validate(tomorrow, today=today)
    with pytest.raises(InvalidInput, match=r"applicant\.id_number: .*\(1899-12-31\) is before 1900"):
        citizen_id.validate(citizen_id.make("445203", dt.date(1899, 12, 31), 5), today=today)
    # without the station's date: the district's real date
    with pytest.raises(InvalidInput, match="in the future"):
        citizen_id.validate(citizen_id.make("445203", dt.date.today() + dt.timedelta(days=2), 5))


def test_the_filing_schema_takes_today_from_the_stations_date():
    today = dt.date(2026, 11, 23)
    later = citizen_id.make("445203", dt.date(2027, 3, 1), 5)   # after the station's today
    with schemas.on_day(today), pytest.raises(InvalidInput) as refused:
        load(schemas.FilingSchema(), filing(id_number=later))
    assert refused.value.message.startswith("applicant.id_number: ")
    assert refused.value.details == {"applicant": {"id_number": [
        "the birth date in the number (2027-03-01) is in the future"]}}
    # a simulated clock ahead of the real date: that same person has been born
    with schemas.on_day(dt.date(2027, 6, 1)):
        assert load(schemas.FilingSchema(), filing(id_number=later))["applicant"]["id_number"] == later
    old = citizen_id.make("445203", dt.date(1899, 6, 30), 5)
    with schemas.on_day(today), pytest.raises(InvalidInput, match=r"applicant\.id_number: .*before 1900"):
        load(schemas.FilingSchema(), filing(id_number=old))


# -- routing ----------------------------------------------------------------------------
def test_routing_up_one_tier_at_a_time_and_down_to_the_applicants_station():
    assert deciding_station("district", "445203001201", "445203001201") == "445203"
    assert route("445203001201", "445203") == ["445203001201", "445203001", "445203"]
    assert deciding_station("township", "445203001201", "445203100201") == "445203001"
    assert deciding_station("township", "445203", "445203100201") == "445203100"
    assert route("445203", "445203100201") == ["445203", "445203100", "445203100201"]
    assert next_hop("445203", "445203100") == "445203100"
    with pytest.raises(InvalidInput, match="residence"):
        deciding_station("village", "445203", "445203100")


# -- the materials check ------------------------------------------------------------------
@pytest.mark.parametrize("materials,commitment,promise,allows_commitment,expected,missing", [
    (("M01", "M02", "M03"), False, False, False, states.ACCEPTED, []),
    (("M01", "M02"), False, True, False, states.ACCEPTED_WITH_DEFICIENCY, ["M03"]),
    (("M01", "M02"), False, False, False, states.NEEDS_SUPPLEMENT, ["M03"]),
    (("M01",), False, True, False, states.NEEDS_SUPPLEMENT, ["M02", "M03"]),
    ((), True, False, True, states.ACCEPTED_BY_COMMITMENT, ["M01", "M02", "M03"]),
    ((), True, False, False, states.NEEDS_SUPPLEMENT, ["M01", "M02", "M03"]),
])
def test_materials_check_outcomes(materials, commitment, promise, allows_commitment, expected, missing):
    result = check_materials(item(allows_commitment=allows_commitment), materials, commitment, promise,
                             ID_1960, dt.date(2026, 11, 23))
    assert result.outcome == expected
    assert [m["code"] for m in result.missing] == missing


def test_too_young_applicant_is_returned_with_a_reason():
    result = check_materials(item(min_applicant_age=80), ("M01", "M02", "M03"), False, False, ID_1960,
                             dt.date(2026, 11, 23))
    assert result.outcome == states.RETURNED and "未满80周岁" in result.reason
    assert check_materials(item(min_applicant_age=80), ("M01", "M02", "M03"), False, False, ID_1940,
                           dt.date(2026, 11, 23)).outcome == states.ACCEPTED


# -- the state machine --------------------------------------------------------------------------
def test_state_machine_refuses_forbidden_moves():
    states.check(states.PENDING_APPROVAL, states.APPROVED)
    for current, target in [(states.RETURNED, states.APPROVED), (states.COMPLETED, states.COMPLETED),
                            (states.APPROVED, states.APPROVED), (states.FORWARDED, states.APPROVED)]:
        with pytest.raises(TransitionForbidden):
            states.check(current, target)


# -- the workflow ---------------------------------------------------------------------------
def test_village_filing_forwards_to_its_township_with_a_due_date_in_working_days():
    result = workflow("445203001201", item()).file("445203001201-20261123-00001", filing())
    case = result.case
    assert case["acceptance"] == states.ACCEPTED
    assert case["status"] == states.FORWARDED and case["holder_station"] == "445203001"
    assert case["deciding_station"] == "445203"
    assert case["due_date"] == "2026-11-30"  # Monday 23rd + 5 working days
    # the hand-off to the township, and the district's copy (the workflow decides both)
    assert [(m.to, m.kind) for m in result.messages] == [("445203001", CASE_HANDOVER), ("445203", CASE_RECORD)]
    assert [h["to_status"] for h in case["history"]] == [states.ACCEPTED, states.FORWARDED]
    assert case["notice"]["kind"] == "receipt"


def test_supplement_notice_lists_every_missing_material_and_supplement_accepts():
    wf = workflow("445203001201", item(allows_deficiency=False))
    case = wf.file("N1", filing(materials=("M01",))).case
    assert case["status"] == states.NEEDS_SUPPLEMENT and case["due_date"] is None
    assert case["notice"]["missing"] == ["M02", "M03"]
    assert "身份证" in "".join(case["notice"]["lines"]) and "病历资料" in "".join(case["notice"]["lines"])
    result = wf.supplement(case, ["M02", "M03"], "林代办")
    assert result.case["acceptance"] == states.ACCEPTED and result.case["status"] == states.FORWARDED
    with pytest.raises(Conflict, match="needs no supplement"):
        wf.supplement(result.case, ["M03"], "林代办")


def test_retired_item_and_unknown_materials_are_refused():
    with pytest.raises(Conflict, match="retired"):
        workflow("445203001201", item(status="retired")).file("N", filing())
    with pytest.raises(InvalidInput, match="M09"):
        workflow("445203001201", item()).file("N", filing(materials=("M01", "M09")))


def test_joint_item_needs_every_department_and_one_rejection_rejects():
    joint = item(code="ZJ-001", department="housing", processing_type="joint",
                 joint_departments=["housing", "ecology", "emergency"], decision_steps=["approve"])
    wf = workflow("445203", joint)
    case = wf.file("J1", filing(code="ZJ-001", residence="445203001201")).case
    assert case["status"] == states.JOINT_REVIEW
    case = wf.decide(case, {"step": "approve", "outcome": "pass", "department": "housing", "operator": "甲"}).case
    assert case["status"] == states.JOINT_REVIEW
    with pytest.raises(Conflict, match="already decided"):
        wf.decide(case, {"step": "approve", "outcome": "pass", "department": "housing", "operator": "甲"})
    case = wf.decide(case, {"step": "approve", "outcome": "reject", "department": "ecology",
                            "operator": "乙", "reason": "环评未通过"}).case
    assert case["result"]["outcome"] == "rejected" and "环评未通过" in case["result"]["reason"]
    assert case["status"] == states.RESULT_READY  # filed at the district: the result is ready there


def test_deficiency_blocks_approval_until_supplied_and_supplement_travels_to_the_decider():
    village = workflow("445203001201", item())
    case = village.file("D1", filing(materials=("M01", "M02"), deficiency_promise=True)).case
    assert case["acceptance"] == states.ACCEPTED_WITH_DEFICIENCY and case["deficiency"]["due_date"]
    result = village.supplement(case, ["M03"], "林代办")
    assert [(m.to, m.kind) for m in result.messages] == [("445203", CASE_SUPPLEMENT)]

    district = workflow("445203", item())
    at_district = district.receive_handover(case, None).case  # simplified: straight to the district
    at_district = district.decide(at_district, {"step": "review", "outcome": "pass",
                                                "department": "civil_affairs", "operator": "陈"}).case
    with pytest.raises(Conflict, match="补齐前不能作出批准决定"):
        district.decide(at_district, {"step": "approve", "outcome": "pass", "department": "civil_affairs",
                                      "operator": "李"})
    assert district.apply_supplement(at_district, ["M03"], "林代办", "445203001201")
    done = district.decide(at_district, {"step": "approve", "outcome": "pass", "department": "civil_affairs",
                                         "operator": "李"})
    assert done.case["status"] == states.RESULT_SENT
    assert [(m.to, m.kind) for m in done.messages] == [("445203001201", CASE_RESULT)]


def test_wrong_step_wrong_department_and_deciding_twice_are_conflicts():
    wf = workflow("445203", item())
    case = wf.file("W1", filing(residence="445203001201")).case
    assert case["status"] == states.PENDING_REVIEW
    with pytest.raises(Conflict, match="waiting for 'review'"):
        wf.decide(case, {"step": "approve", "outcome": "pass", "department": "civil_affairs", "operator": "x"})
    with pytest.raises(Conflict, match="only the item's department"):
        wf.decide(case, {"step": "review", "outcome": "pass", "department": "housing", "operator": "x"})
    with pytest.raises(InvalidInput, match="reason"):
        wf.decide(case, {"step": "review", "outcome": "reject", "department": "civil_affairs", "operator": "x"})
    case = wf.decide(case, {"step": "review", "outcome": "pass", "department": "civil_affairs", "operator": "x"}).case
    case = wf.decide(case, {"step": "approve", "outcome": "pass", "department": "civil_affairs", "operator": "y"}).case
    assert case["status"] == states.RESULT_READY  # filed here, so the result is ready here
    with pytest.raises(Conflict, match="not waiting for a decision"):
        wf.decide(case, {"step": "approve", "outcome": "pass", "department": "civil_affairs", "operator": "y"})
    case = wf.deliver(case, "窗口").case
    assert case["status"] == states.COMPLETED
    assert [h["seq"] for h in case["history"]] == list(range(1, len(case["history"]) + 1))


def test_stale_handover_is_ignored():
    wf = workflow("445203001", item())
    case = workflow("445203001201", item()).file("S1", filing()).case
    first = wf.receive_handover(dict(case, history=list(case["history"])), None)
    assert first is not None
    assert wf.receive_handover(case, first.case) is None
