"""Appointment reminders (预约提醒): the day before a working day, each appointment booked
for it gets one `appointment_reminder` notice, written with the appointment's
`reminded_at` in one transaction, so a reminder is queued once however often the
station's timer runs (services/outbox_sweeper.py). Only between REMIND_FROM and
REMIND_UNTIL o'clock, district time (no SMS at night); a hall whose policy turns
reminders off (`hall.reminder: false`) sends none. Plain Python on a HallStore
(shared/hall/store.py), which knows the station's calendar, clock and policy.
"""
from sqlalchemy import select

from shared.db.models import Appointment
from shared.hall import appointments as rules
from shared.hall.policy import HALF_DAY_NAMES
from shared.notices import templates
from shared.notices.outbox import add_notice

REMIND_FROM, REMIND_UNTIL = 9, 20     # hours, Asia/Shanghai


def queue_reminders(store, station_name):
    """Queue the reminders due now at the store's station; their notice ids."""
    now = store.now()
    if not store.policy.reminder or not REMIND_FROM <= now.hour < REMIND_UNTIL:
        return []
    day = rules.reminder_day(store.calendar, now.date())
    rows = store.session.scalars(select(Appointment).where(
        Appointment.station == store.station_code, Appointment.day == day, Appointment.status == rules.BOOKED,
        Appointment.reminded_at.is_(None)).order_by(Appointment.id)).all()
    queued = []
    for row in rows:
        if not templates.MOBILE.match(row.mobile or ""):
            continue
        queued.append(add_notice(store.session, templates.APPOINTMENT_REMINDER, row.mobile, {
            "day": f"{day.month}月{day.day}日", "half_day": HALF_DAY_NAMES.get(row.half_day, row.half_day),
            "station": station_name, "booking_no": row.booking_no}, station=store.station_code))
        row.reminded_at = store._utcnow()
    return queued
