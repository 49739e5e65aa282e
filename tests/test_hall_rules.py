"""The service hall's rules as plain Python (shared/hall/): the policy from the network
file, slots from the working-day calendar, ticket numbers, the priority rule, the calling
order and the appointment rules. No database, no nameko."""
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from shared.calendar import Schedule, WorkingDayCalendar
from shared.cases.citizen_id import make as make_id
from shared.exceptions import Conflict, InvalidInput
from shared.hall import appointments, slots, tickets
from shared.hall.policy import HallPolicy
from shared.stations import Network

TZ = ZoneInfo("Asia/Shanghai")
OFFICIAL = WorkingDayCalendar()  # 2026 from the chinesecalendar package
POLICY = HallPolicy()

# 2026 (State Council): National Day 1-3 October, days off in lieu 5-7 October (Monday to
# Wednesday), Saturday 10 October worked; Thursday 8 and Friday 9 October plain working days
NATIONAL_DAY = dt.date(2026, 10, 1)
ADJUSTED_DAY_OFF = dt.date(2026, 10, 7)
ADJUSTED_SATURDAY = dt.date(2026, 10, 10)
PLAIN_SATURDAY = dt.date(2026, 10, 17)
PLAIN_FRIDAY = dt.date(2026, 10, 9)


def days_with_slots(calendar, start, days, tier="district"):
    return sorted({s["day"] for s in slots.slots(calendar, POLICY, tier, start, days)})


# -- slots from the calendar -----------------------------------------------------------------
def test_no_slots_on_a_public_holiday_or_an_adjusted_day_off_but_on_an_adjusted_working_saturday():
    found = days_with_slots(OFFICIAL, dt.date(2026, 9, 30), 18)
    assert NATIONAL_DAY not in found and ADJUSTED_DAY_OFF not in found
    assert ADJUSTED_SATURDAY in found and PLAIN_FRIDAY in found
    assert PLAIN_SATURDAY not in found
    assert found == [dt.date(2026, 9, 30), dt.date(2026, 10, 8), PLAIN_FRIDAY, ADJUSTED_SATURDAY, dt.date(2026, 10, 12),
                     dt.date(2026, 10, 13), dt.date(2026, 10, 14), dt.date(2026, 10, 15), dt.date(2026, 10, 16)]


def test_a_published_schedule_decides_the_slots_of_its_year():
    schedule = Schedule(2027, holidays=["2027-06-14"], workdays=["2027-06-12"])  # a Monday off, a Saturday worked
    calendar = WorkingDayCalendar([schedule])
    found = days_with_slots(calendar, dt.date(2027, 6, 11), 4)
    assert found == [dt.date(2027, 6, 11), dt.date(2027, 6, 12)]


def test_each_slot_is_a_half_day_of_a_window_type_the_tier_has_with_the_tiers_capacity():
    day = [s for s in slots.slots(OFFICIAL, POLICY, "district", PLAIN_FRIDAY, 1)]
    assert [(s["half_day"], s["window_type"]) for s in day] == [
        (h, w) for h in ("am", "pm") for w in ("A", "B", "C", "D")]
    assert {s["capacity"] for s in day} == {20}
    township = slots.slots(OFFICIAL, POLICY, "township", PLAIN_FRIDAY, 1)
    assert [(s["half_day"], s["window_type"], s["capacity"]) for s in township] == [
        ("am", "A", 8), ("am", "D", 8), ("pm", "A", 8), ("pm", "D", 8)]
    village = slots.slots(OFFICIAL, POLICY, "village", PLAIN_FRIDAY, 1, window_type="A")
    assert [(s["half_day"], s["capacity"], s["window_type_name"]) for s in village] == [
        ("am", 3, "综合受理"), ("pm", 3, "综合受理")]


def test_a_slot_that_does_not_exist_is_refused_naming_why():
    with pytest.raises(InvalidInput, match="非工作日"):
        slots.check_slot(OFFICIAL, POLICY, "district", NATIONAL_DAY, "am", "A")
    with pytest.raises(InvalidInput, match="非工作日"):
        slots.check_slot(OFFICIAL, POLICY, "district", ADJUSTED_DAY_OFF, "pm", "A")
    assert slots.check_slot(OFFICIAL, POLICY, "district", ADJUSTED_SATURDAY, "am", "B").name == "企业开办"
    with pytest.raises(InvalidInput, match="本站不设该类窗口"):
        slots.check_slot(OFFICIAL, POLICY, "village", PLAIN_FRIDAY, "am", "B")
    with pytest.raises(InvalidInput, match="half_day"):
        slots.check_slot(OFFICIAL, POLICY, "district", PLAIN_FRIDAY, "evening", "A")
    with pytest.raises(InvalidInput, match="窗口类型不存在"):
        slots.check_slot(OFFICIAL, POLICY, "district", PLAIN_FRIDAY, "am", "Z")


def test_residents_book_from_the_next_working_day_up_to_the_policys_working_days_ahead():
    wednesday = dt.datetime(2026, 9, 30, 16, 0, tzinfo=TZ)  # the last working day before National Day
    first, last = slots.booking_window(OFFICIAL, POLICY, wednesday.date())
    assert first == dt.date(2026, 10, 8)  # 1-7 October off
    assert last == OFFICIAL.add_working_days(wednesday.date(), 14)
    appointments.check_bookable(OFFICIAL, POLICY, wednesday, PLAIN_FRIDAY, "am")
    with pytest.raises(InvalidInput, match="最早可预约"):
        appointments.check_bookable(OFFICIAL, POLICY, wednesday, wednesday.date(), "pm")
    with pytest.raises(InvalidInput, match="最晚可预约"):
        appointments.check_bookable(OFFICIAL, POLICY, wednesday, last + dt.timedelta(days=1), "am")
    # a counter books today's afternoon for the resident in front of it, not a slot already begun
    morning = dt.datetime(2026, 9, 30, 10, 0, tzinfo=TZ)
    appointments.check_bookable(OFFICIAL, POLICY, morning, morning.date(), "pm", by_counter=True)
    with pytest.raises(InvalidInput, match="该时段已开始"):
        appointments.check_bookable(OFFICIAL, POLICY, morning, morning.date(), "am", by_counter=True)


def test_an_appointment_changes_until_its_slot_starts_and_is_missed_when_its_half_day_ends():
    booked = {"booking_no": "Y261009A001", "status": "booked", "day": PLAIN_FRIDAY, "half_day": "pm"}
    appointments.check_changeable(POLICY, booked, dt.datetime(2026, 10, 9, 13, 29, tzinfo=TZ))
    with pytest.raises(Conflict, match="预约时段已开始"):
        appointments.check_changeable(POLICY, booked, dt.datetime(2026, 10, 9, 13, 30, tzinfo=TZ))
    with pytest.raises(Conflict, match="已取消"):
        appointments.check_changeable(POLICY, {**booked, "status": "cancelled"},
                                      dt.datetime(2026, 10, 8, 9, 0, tzinfo=TZ))
    assert not appointments.is_missed(POLICY, PLAIN_FRIDAY, "pm", dt.datetime(2026, 10, 9, 16, 59, tzinfo=TZ))
    assert appointments.is_missed(POLICY, PLAIN_FRIDAY, "pm", dt.datetime(2026, 10, 9, 17, 0, tzinfo=TZ))
    assert not appointments.is_missed(POLICY, PLAIN_FRIDAY, "pm", dt.datetime(2026, 10, 9, 18, 0, tzinfo=TZ),
                                      status="kept")
    # the day before the next working day: a Friday reminds the worked Saturday's appointments,
    # that Saturday Monday's, the Wednesday before National Day those of 8 October
    assert appointments.reminder_day(OFFICIAL, PLAIN_FRIDAY) == ADJUSTED_SATURDAY
    assert appointments.reminder_day(OFFICIAL, ADJUSTED_SATURDAY) == dt.date(2026, 10, 12)
    assert appointments.reminder_day(OFFICIAL, dt.date(2026, 9, 30)) == dt.date(2026, 10, 8)
    assert appointments.booking_no(PLAIN_FRIDAY, "C", 7) == "Y261009C007"


# -- tickets -----------------------------------------------------------------------------------
def test_ticket_numbers_carry_the_window_types_letter_and_three_digits():
    assert tickets.ticket_no("A", 23) == "A023"
    assert tickets.ticket_no("D", 1) == "D001"
    assert tickets.ticket_no("B", 1000) == "B1000"


def test_priority_is_for_the_disabled_and_from_the_70th_birthday_by_the_id_number():
    day = dt.date(2026, 12, 3)
    seventy_today = make_id("449902", dt.date(1956, 12, 3), 1)
    seventy_tomorrow = make_id("449902", dt.date(1956, 12, 4), 2)
    assert tickets.priority_reason(seventy_today, day) == "elderly"
    assert tickets.priority_reason(seventy_tomorrow, day) is None
    assert tickets.priority_reason(seventy_tomorrow, day, disabled=True) == "disabled"
    with pytest.raises(InvalidInput, match="不符合绿色通道条件"):
        tickets.check_priority(seventy_tomorrow, day)


def test_calling_order_is_priority_then_appointments_then_walk_ins_each_by_issue_time():
    at = dt.datetime(2026, 12, 3, 1, 0)

    def ticket(number, kind, minutes):
        return {"number": number, "kind": kind, "issued_at": at + dt.timedelta(minutes=minutes)}
    queue = [ticket(1, "walk_in", 0), ticket(2, "appointment", 1), ticket(3, "walk_in", 2),
             ticket(4, "priority", 3), ticket(5, "appointment", 4), ticket(6, "priority", 5)]
    assert [t["number"] for t in tickets.calling_order(queue)] == [4, 6, 2, 5, 1, 3]


def test_a_printed_ticket_masks_the_name():
    assert [tickets.mask_name(n) for n in ("张", "张三", "黄秀英", "欧阳小锋")] == ["*", "张*", "黄*英", "欧**锋"]


# -- the policy --------------------------------------------------------------------------------
def test_the_policy_defaults_when_the_network_file_has_no_hall_section():
    network = Network.from_dict({"district": {"code": "449902", "name": "测试区"},
                                 "stations": [{"code": "449902", "name": "区中心"}]})
    assert network.hall == HallPolicy()
    assert [w.code for w in network.hall.window_types_for("district")] == ["A", "B", "C", "D"]
    assert network.hall.capacity_for("village") == 3 and network.hall.book_days_ahead == 14


def test_the_hall_section_is_read_and_its_mistakes_named():
    policy = HallPolicy.from_dict({
        "window_types": [{"code": "A", "name": "综合受理", "tiers": ["district", "village"]},
                         {"code": "E", "name": "户籍办理", "tiers": ["township"]}],
        "capacity": {"village": 5}, "book_days_ahead": 7, "reminder": False,
        "hours": {"pm": ["14:00", "17:30"]}})
    assert [w.code for w in policy.window_types_for("township")] == ["E"]
    assert policy.capacity_for("village") == 5 and policy.capacity_for("district") == 20
    assert policy.half_day_hours("pm") == (dt.time(14, 0), dt.time(17, 30))
    assert policy.half_day_hours("am") == (dt.time(9, 0), dt.time(12, 0))
    for bad, field in [({"window_types": [{"code": "a", "name": "x"}]}, "hall.window_types[0].code"),
                       ({"window_types": [{"code": "A", "name": "x"}, {"code": "A", "name": "y"}]},
                        "hall.window_types[1].code"),
                       ({"window_types": [{"code": "A", "name": "x", "tiers": ["city"]}]},
                        "hall.window_types[0].tiers"),
                       ({"capacity": {"village": -1}}, "hall.capacity.village"),
                       ({"capacity": {"province": 3}}, "hall.capacity"),
                       ({"book_days_ahead": 0}, "hall.book_days_ahead"),
                       ({"reminder": "yes"}, "hall.reminder"),
                       ({"hours": {"am": ["12:00", "09:00"]}}, "hall.hours.am"),
                       ({"hours": {"am": ["09:00", "14:00"]}}, "hall.hours"),
                       ({"queues": []}, "unknown setting(s) queues")]:
        with pytest.raises(InvalidInput, match=re.escape(field)):
            HallPolicy.from_dict(bad)
