"""Bookable slots (预约时段): a slot is (day, half day, window type) at one station, with
the policy's capacity for the station's tier. Only working days have slots: the
district's WorkingDayCalendar knows the public holidays, the adjusted days off and the
adjusted working Saturdays. Pure: no database (store.py adds what is booked)."""
import datetime as dt

from shared.clock import DISTRICT_TZ
from shared.exceptions import InvalidInput
from shared.hall.policy import HALF_DAY_NAMES, HALF_DAYS

MAX_DAYS = 62  # a query covers at most two months


def slot_start(policy, day, half_day):
    """When the slot begins (aware, Asia/Shanghai)."""
    return dt.datetime.combine(day, policy.half_day_hours(half_day)[0], DISTRICT_TZ)


def slot_end(policy, day, half_day):
    return dt.datetime.combine(day, policy.half_day_hours(half_day)[1], DISTRICT_TZ)


def check_half_day(half_day):
    if half_day not in HALF_DAYS:
        raise InvalidInput(f"half_day: 'am' (上午) or 'pm' (下午), not '{half_day}'")
    return half_day


def check_slot(calendar, policy, tier, day, half_day, window_type):
    """The window type of a real slot, or InvalidInput naming why there is none: an
    unknown half day or window type, or a day the station is closed (非工作日)."""
    check_half_day(half_day)
    kind = policy.window_type(window_type, tier)
    if not calendar.is_working_day(day):
        raise InvalidInput(f"day: {day} is not a working day (非工作日，不开放预约): no slots that day")
    if policy.capacity_for(tier) <= 0:
        raise InvalidInput("this station takes no appointments (本站不开放预约)")
    return kind


def slots(calendar, policy, tier, start, days, window_type=None):
    """The slots of the working days from `start` for `days` calendar days, in order
    (day, half day, window type): dicts {day, half_day, half_day_name, window_type,
    window_type_name, capacity}. `window_type` limits them to one type."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days: from 1 to {MAX_DAYS}")
    kinds = [policy.window_type(window_type, tier)] if window_type else policy.window_types_for(tier)
    capacity = policy.capacity_for(tier)
    found = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        if not calendar.is_working_day(day):
            continue
        for half_day in HALF_DAYS:
            for kind in kinds:
                found.append({"day": day, "half_day": half_day, "half_day_name": HALF_DAY_NAMES[half_day],
                              "window_type": kind.code, "window_type_name": kind.name, "capacity": capacity})
    return found


def booking_window(calendar, policy, today):
    """(first, last) day a resident may book on `today`: from the next working day
    after today up to `book_days_ahead` working days ahead."""
    return (calendar.add_working_days(today, 1), calendar.add_working_days(today, policy.book_days_ahead))
