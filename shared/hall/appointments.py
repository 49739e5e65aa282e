"""Appointment rules (预约). Pure: `now` is an aware datetime (the station's clock).

- A resident books online from the next working day after today up to the policy's
  `book_days_ahead` working days ahead; a counter may also book today's slots that have
  not started (a resident at the desk booking for the afternoon).
- Moving or cancelling is allowed until the slot starts.
- An appointment not kept by the end of its half day is missed.
- Booking numbers: f"Y{day:%y%m%d}{window_type}{n:03d}", n counted per station, day and
  window type (unique at the station; a move keeps the number).
"""
from shared.exceptions import Conflict, InvalidInput
from shared.hall import slots
from shared.hall.policy import HALF_DAY_NAMES, HALF_DAYS

BOOKED, KEPT, CANCELLED, MISSED = "booked", "kept", "cancelled", "missed"
STATUSES = (BOOKED, KEPT, CANCELLED, MISSED)
STATUS_NAMES = {BOOKED: "已预约", KEPT: "已到场取号", CANCELLED: "已取消", MISSED: "爽约（未到）"}
ONLINE, COUNTER = "online", "counter"


def booking_no(day, window_type, n):
    return f"Y{day:%y%m%d}{window_type}{n:03d}"


def check_bookable(calendar, policy, now, day, half_day, by_counter=False):
    """InvalidInput when `day`'s `half_day` may not be booked at `now` (the day being a
    working day is slots.check_slot's question)."""
    today = now.date()
    first, last = slots.booking_window(calendar, policy, today)
    if by_counter and day == today:
        if now >= slots.slot_start(policy, day, half_day):
            raise InvalidInput(f"day: the {HALF_DAY_NAMES[half_day]} slot of today has already started "
                               f"(该时段已开始，请预约其他时段)")
        return
    if day < first:
        raise InvalidInput(f"day: appointments are booked from {first} on (最早可预约 {first})")
    if day > last:
        raise InvalidInput(f"day: appointments are booked at most {policy.book_days_ahead} working days "
                           f"ahead, up to {last} (最晚可预约 {last})")


def check_changeable(policy, appointment, now):
    """Conflict unless the appointment is still booked and its slot has not started."""
    if appointment["status"] != BOOKED:
        raise Conflict(f"appointment {appointment['booking_no']} is {appointment['status']} "
                       f"({STATUS_NAMES[appointment['status']]}): it can no longer be changed")
    if now >= slots.slot_start(policy, appointment["day"], appointment["half_day"]):
        raise Conflict(f"appointment {appointment['booking_no']}: its slot has started; it can no longer be "
                       f"moved or cancelled (预约时段已开始，不能改约或取消)")


def is_missed(policy, day, half_day, now, status=BOOKED):
    """Booked and its half day is over."""
    return status == BOOKED and now >= slots.slot_end(policy, day, half_day)


def half_days_ended(policy, now):
    """Which of today's half days have ended by `now`: between two changes of this there
    is no appointment to mark missed (the station's sweep looks only when it changes)."""
    return now.date(), tuple(now >= slots.slot_end(policy, now.date(), h) for h in HALF_DAYS)


def reminder_day(calendar, today):
    """The day whose appointments are reminded today: the next working day (Friday
    reminds Monday's)."""
    return calendar.add_working_days(today, 1)
