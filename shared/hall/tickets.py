"""Queue tickets (取号): numbering, the priority rule and the calling order. Pure.

A ticket is numbered per station, day and window type from 1 and shown with the window
type's letter: "A023". Calling order for a window type: priority (绿色通道) first, then
appointment tickets, then walk-ins; within each, by issue time (then number).
"""
from shared.cases import citizen_id
from shared.exceptions import InvalidInput

WALK_IN, APPOINTMENT, PRIORITY = "walk_in", "appointment", "priority"
KINDS = (WALK_IN, APPOINTMENT, PRIORITY)
KIND_NAMES = {WALK_IN: "现场", APPOINTMENT: "预约", PRIORITY: "绿色通道"}
RANK = {PRIORITY: 0, APPOINTMENT: 1, WALK_IN: 2}

WAITING, CALLED, FINISHED, NO_SHOW = "waiting", "called", "finished", "no_show"
STATUSES = (WAITING, CALLED, FINISHED, NO_SHOW)
STATUS_NAMES = {WAITING: "等候中", CALLED: "已叫号", FINISHED: "已办结", NO_SHOW: "过号未到"}

ELDERLY_AGE = 70
ELDERLY, DISABLED = "elderly", "disabled"
PRIORITY_REASONS = {ELDERLY: "70岁以上老年人", DISABLED: "残疾人"}


def ticket_no(window_type, number):
    """"A023": the letter and at least three digits (A1000 after A999)."""
    return f"{window_type}{number:03d}"


def priority_reason(id_number, day, disabled=False):
    """Why the holder may use the green channel on `day`: "disabled" (the counter says
    so), "elderly" (70 or older by the ID number's birth date), or None."""
    if disabled:
        return DISABLED
    if citizen_id.age_on(id_number, day) >= ELDERLY_AGE:
        return ELDERLY
    return None


def check_priority(id_number, day, disabled=False):
    reason = priority_reason(id_number, day, disabled)
    if reason is None:
        raise InvalidInput(f"kind: 绿色通道 is for applicants aged {ELDERLY_AGE} or older (by the ID number's "
                           f"birth date) or disabled (the counter ticks 'disabled'); this applicant is "
                           f"{citizen_id.age_on(id_number, day)} (不符合绿色通道条件)")
    return reason


def order_key(ticket):
    """Sort key of the calling order for tickets (dicts or rows with kind, issued_at,
    number)."""
    get = ticket.get if isinstance(ticket, dict) else lambda name: getattr(ticket, name)
    return (RANK[get("kind")], get("issued_at"), get("number"))


def calling_order(tickets):
    return sorted(tickets, key=order_key)


def mask_name(name):
    """张* / 张*明 / 欧阳**锋: what a printed ticket shows of the holder's name."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
