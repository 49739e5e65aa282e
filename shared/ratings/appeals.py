"""An office's appeal (申诉) against a rating, and the supervisor's decision (复核).

    pending ──uphold──> upheld    the rating stands (申诉不成立)
            └─annul───> annulled  the rating is void (申诉成立): it leaves the figures,
                                  its rectification order is cancelled; the history keeps both

Only a bad rating a resident gave (not a default one) can be appealed, once, by the
office its rectification order names, up to APPEAL_WORKING_DAYS working days after the
day the rating reached the district (policy.py), with a written reason. The supervisor
decides; annulling needs a reason, upholding may give one. Who may do what is in
shared/auth/permissions.py.
"""
from shared.exceptions import Conflict, InvalidInput
from shared.ratings import levels

PENDING, UPHELD, ANNULLED = "pending", "upheld", "annulled"
STATES = (PENDING, UPHELD, ANNULLED)
STATE_LABELS = {PENDING: "待复核", UPHELD: "申诉不成立，维持评价", ANNULLED: "申诉成立，评价作废"}
UPHOLD, ANNUL = "uphold", "annul"
DECISIONS = {UPHOLD: UPHELD, ANNUL: ANNULLED}


def check_appealable(rating, existing_appeal, today, due):
    """Conflict (with the reason) unless `rating` (a dict: level, is_default, annulled)
    may be appealed `today`, the last day being `due`."""
    if rating["is_default"] or not levels.is_bad(rating["level"]):
        raise Conflict("只有群众给出的差评（不满意、非常不满意）可以申诉")
    if rating["annulled"]:
        raise Conflict("该评价已作废")
    if existing_appeal is not None:
        raise Conflict(f"该评价已申诉过（{STATE_LABELS[existing_appeal]}），每个评价只能申诉一次")
    if today > due:
        raise Conflict(f"申诉期限已过：须在 {due.isoformat()} 前（含当日）提出")


def decided_state(state, decision, reason):
    """The appeal's state after the supervisor's `decision` (uphold | annul); Conflict if
    it was decided already, InvalidInput for an unknown decision or an annulment without
    a reason."""
    if decision not in DECISIONS:
        raise InvalidInput(f"decision: must be one of {', '.join(DECISIONS)}")
    if state != PENDING:
        raise Conflict(f"该申诉已复核（{STATE_LABELS[state]}）")
    if decision == ANNUL and len((reason or "").strip()) < 2:
        raise InvalidInput("reason: 作废评价须写明理由（至少 2 个字）", details={"reason": ["至少 2 个字"]})
    return DECISIONS[decision]
