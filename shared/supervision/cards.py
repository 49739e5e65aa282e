"""Supervision cards with states (电子监察的预警、黄牌、红牌及其处理): the rules, plain Python.

The district's patrol raises alerts (district/supervision_desk.py): a due-soon
`warning`, a `yellow_card` once a case is overdue, a `red_card` once it is badly overdue.
Each alert is a card with a state:

    issued ──explain──> explained ──confirm──> confirmed
       │                    └──────revoke────> revoked
       └──confirm (only once the explanation is overdue)──> confirmed

* **explain**: a reviewer or approver of the card's department (the department named in
  the alert) writes why the case is late. Due within `EXPLAIN_WORKING_DAYS` working days
  of the day the card was issued (day 1 is the first working day after it, as limits
  count); a later explanation is still taken, and flagged late.
* **confirm**: the supervisor upholds the card (an optional reason). A card whose
  explanation never came may be confirmed once its explanation is overdue.
* **revoke**: the supervisor withdraws the card, with a reason (required), after
  reading the department's explanation. A revoked card is not counted: not in the
  statistics' warnings and cards (/api/stats), not in the assessment (`counts`).

Confirmed and revoked are final. A card's id is `<case_no>.<kind>` (the alert's key).
Who may do what is checked here too (`can_explain`, `can_decide`, `listing_department`),
raising Forbidden with the reason; a step the state forbids raises Conflict.
"""
from shared.auth import roles
from shared.exceptions import Conflict, Forbidden, InvalidInput, NotFound

ISSUED, EXPLAINED, CONFIRMED, REVOKED = "issued", "explained", "confirmed", "revoked"
STATES = (ISSUED, EXPLAINED, CONFIRMED, REVOKED)
#: the states a card counts in (every state but revoked)
COUNTED = (ISSUED, EXPLAINED, CONFIRMED)
FINAL = (CONFIRMED, REVOKED)
EXPLAIN, CONFIRM, REVOKE = "explain", "confirm", "revoke"
ACTIONS = (EXPLAIN, CONFIRM, REVOKE)

#: the deadline patrol's alerts about a case's own limit
CASE_KINDS = ("warning", "yellow_card", "red_card")
#: issue 20: a rectification order (整改, shared/ratings/rectification.py) still without
#: its office's action after its due date; the card's department is the order's office
RECTIFICATION_CARD = "rectification_card"
KINDS = (*CASE_KINDS, RECTIFICATION_CARD)
KIND_LABELS = {"warning": "预警", "yellow_card": "黄牌", "red_card": "红牌", RECTIFICATION_CARD: "整改超期"}
STATE_LABELS = {ISSUED: "待说明", EXPLAINED: "已说明，待审核", CONFIRMED: "已确认", REVOKED: "已撤销"}
ACTION_LABELS = {"issue": "巡查下发", EXPLAIN: "部门说明", CONFIRM: "监察确认", REVOKE: "监察撤销"}

#: working days a department has to explain a card
EXPLAIN_WORKING_DAYS = 2
TEXT_MIN, TEXT_MAX = 2, 2000


def card_id(case_no, kind):
    return f"{case_no}.{kind}"


def parse_card_id(text):
    """(case_no, kind) of a card id; NotFound for anything that is not one."""
    case_no, _, kind = (text or "").rpartition(".")
    if not case_no or kind not in KINDS or len(case_no) > 40:
        raise NotFound(f"没有编号为 {text} 的监察卡")
    return case_no, kind


def explain_due(issued_on, calendar):
    """The last day the department may explain a card issued on `issued_on` in time."""
    return calendar.add_working_days(issued_on, EXPLAIN_WORKING_DAYS)


def explanation_overdue(issued_on, today, calendar):
    """Whether an explanation given `today` is late."""
    return today > explain_due(issued_on, calendar)


def next_state(state, action, explanation_is_overdue=False):
    """The state `action` moves a card in `state` to; Conflict (with the reason, in
    Chinese) when the card's state does not allow it."""
    if action == EXPLAIN:
        if state == ISSUED:
            return EXPLAINED
        raise Conflict(f"该监察卡{STATE_LABELS[state]}，不能再提交说明")
    if action == CONFIRM:
        if state == EXPLAINED or (state == ISSUED and explanation_is_overdue):
            return CONFIRMED
        if state == ISSUED:
            raise Conflict("责任部门的说明期限未到，暂不能确认：请等待部门说明或说明期限届满")
        raise Conflict(f"该监察卡{STATE_LABELS[state]}，不能再确认")
    if action == REVOKE:
        if state == EXPLAINED:
            return REVOKED
        if state == ISSUED:
            raise Conflict("撤销须依据责任部门的说明：该监察卡尚未说明")
        raise Conflict(f"该监察卡{STATE_LABELS[state]}，不能再撤销")
    raise ValueError(f"unknown card action {action!r}")


def clean_text(value, field, required=True):
    """The text of an explanation or a reason, stripped; InvalidInput naming the field
    when it is required and missing, too short or too long."""
    text = (value or "").strip()
    if not text and not required:
        return ""
    if len(text) < TEXT_MIN:
        raise InvalidInput(f"{field}: 请填写{'说明' if field == 'text' else '理由'}（至少 {TEXT_MIN} 个字）",
                           details={field: [f"至少 {TEXT_MIN} 个字"]})
    if len(text) > TEXT_MAX:
        raise InvalidInput(f"{field}: 最多 {TEXT_MAX} 个字", details={field: [f"最多 {TEXT_MAX} 个字"]})
    return text


# -- who may do what -------------------------------------------------------------------
def can_explain_at_all(user):
    """Whether the user explains cards at all (checked before the card is looked up)."""
    if user["role"] not in roles.DEPARTMENT_ROLES:
        raise Forbidden(f"{roles.LABELS.get(user['role'], user['role'])} {user['name']}（{user['username']}）"
                        "不能说明监察卡：由责任部门的审查、审批人员说明")


def can_explain(user, department):
    """A reviewer or approver of the card's department explains it."""
    can_explain_at_all(user)
    if user["department"] != department:
        raise Forbidden(f"该监察卡由责任部门（{department}）说明，{user['name']}属于 {user['department']}")


def can_decide(user):
    """The supervisor confirms or revokes a card."""
    if user["role"] != roles.SUPERVISOR:
        raise Forbidden(f"{roles.LABELS.get(user['role'], user['role'])} {user['name']}（{user['username']}）"
                        "不能确认或撤销监察卡：由电子监察人员处理")


def listing_department(user, asked=None):
    """The department a user's card list is limited to: a department's reviewers and
    approvers see their own department's cards (asking for another is refused); the
    supervisor and the administrator see every card (or the department they ask for);
    nobody else sees cards."""
    if user["role"] in roles.DEPARTMENT_ROLES:
        if asked and asked != user["department"]:
            raise Forbidden(f"{user['name']}（{user['username']}）只能查看本部门（{user['department']}）的监察卡")
        return user["department"]
    if user["role"] in (roles.SUPERVISOR, roles.ADMINISTRATOR):
        return asked or None
    raise Forbidden(f"{roles.LABELS.get(user['role'], user['role'])} {user['name']}（{user['username']}）"
                    "不能查看监察卡")


def actions_for(user, card, today_overdue):
    """The steps `user` may take on `card` now (what the desk offers; each is checked
    again when submitted)."""
    offered = []
    state = card["state"]
    if user["role"] in roles.DEPARTMENT_ROLES and user["department"] == card["department"] and state == ISSUED:
        offered.append(EXPLAIN)
    if user["role"] == roles.SUPERVISOR:
        if state == EXPLAINED or (state == ISSUED and today_overdue):
            offered.append(CONFIRM)
        if state == EXPLAINED:
            offered.append(REVOKE)
    return offered
