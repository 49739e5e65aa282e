"""What a user at a station is shown of a case and may do with it now: plain Python,
used by the HTTP API (services/gateway/service.py) and the web desk (services/web_desk/).

- `available_actions(case, user, station)`: the actions this user may take now, each with
  what its form or request needs. It follows the rules the case desk applies when the
  action is submitted — the state machine and the workflow's preconditions
  (shared/cases/workflow.py), the roles (shared/auth/permissions.py), 受审分离
  (shared/cases/separation.py) and the station holding the case — so an action offered
  here is one the desk accepts, and one left out is one it refuses. The desk still checks
  every action again when it is submitted: offering is a convenience, not a permission.
- `case_view(case, user, station, record_full_view)`: the case as the user is shown it,
  ID number and phone masked unless the user acts on the case here.
- `decision_note` and `waiting_for_nobody`: where 受审分离 leaves a case that this user, or
  nobody at the station, may decide.

`station` is the code of the station answering (the user's own: a user logs in only at
their station); `user` the logged-in user's dict (services/auth.py).
"""
from marshmallow import Schema, fields

from shared.auth import permissions, roles
from shared.cases import query_codes, schemas, separation, states
from shared.cases.materials import outstanding
from shared.catalogue.schemas import MaterialSchema
from shared.exceptions import Forbidden
from shared.stations import DISTRICT, tier_of

SUPPLEMENT = "supplement"
RETURN = "return"
FORWARD = "forward"
REVIEW = "review"
APPROVE = "approve"
SUSPEND = "suspend"
REQUEST_EXTENSION = "request_extension"
DECIDE_EXTENSION = "decide_extension"
DELIVER = "deliver"
RATE = "rate"
REISSUE_QUERY_CODE = "reissue_query_code"
ACTIONS = (SUPPLEMENT, RETURN, FORWARD, REVIEW, APPROVE, SUSPEND, REQUEST_EXTENSION, DECIDE_EXTENSION,
           DELIVER, RATE, REISSUE_QUERY_CODE)
DECISION_STEPS = (REVIEW, APPROVE)


# -- what the user may do ---------------------------------------------------------------------------
def available_actions(case, user, station):
    """{action: what it needs} for the actions `user` may take now with `case` at
    `station` (one of ACTIONS; an action not offered is absent):

    - supplement: {"materials": the outstanding materials} — at the counter of the filing
      station (materials handed in elsewhere are refused by the deciding station,
      shared/trust/entitlement.py) or of the station holding the case;
    - return: {} — a case waiting for a supplement, at its counter;
    - forward: {"deciding_station"} — a case a township checks before sending it on (初审转报);
    - review / approve: {"departments": those the user may decide for, "outcomes":
      "pass" and "reject", or "reject" only while 容缺 materials are missing};
    - suspend: {"materials": the item's materials}, request_extension: {} — the deciding office;
    - decide_extension: {"days"} — an approver of the case's departments at the district;
    - deliver, rate, reissue_query_code: {} — the counter holding the case.
    """
    here, status, role = station, case["status"], user["role"]
    user = {**user, "station": here}
    held = case["holder_station"] == here
    counter = role in roles.COUNTER_ROLES
    actions = {}
    if counter and status not in states.FINAL and (case["filing_station"] == here or held) \
            and (held or status != states.NEEDS_SUPPLEMENT) and (missing := outstanding(case)):
        actions[SUPPLEMENT] = {"materials": missing}
    if counter and held and status == states.NEEDS_SUPPLEMENT:
        actions[RETURN] = {}
    if role == roles.TOWNSHIP_STAFF and held and status == states.RECEIVED and case["deciding_station"] != here:
        actions[FORWARD] = {"deciding_station": case["deciding_station"]}
    decision = decision_waiting(case, user, here)
    if decision is not None:
        step, departments = decision
        departments = [d for d in departments if permissions.may_decide(user, case, step, d)]
        if departments:
            actions[step] = {"departments": departments, "outcomes": _outcomes(case, step)}
    if held and _may(permissions.can_handle_decision_step, user, case, SUSPEND):
        if status in states.DECIDING:
            actions[SUSPEND] = {"materials": list(case["item"]["materials"])}
        if status in (*states.DECIDING, states.SUSPENDED) and not case.get("extension"):
            actions[REQUEST_EXTENSION] = {}
    extension = case.get("extension") or {}
    if tier_of(here) == DISTRICT and extension.get("status") == "requested" \
            and _may(permissions.can_decide_extension, user, case):
        actions[DECIDE_EXTENSION] = {"days": extension["days"]}
    if counter and held:
        if status == states.RESULT_READY:
            actions[DELIVER] = {}
        if status == states.COMPLETED and not case.get("rating"):
            actions[RATE] = {}
        actions[REISSUE_QUERY_CODE] = {}
    return actions


def resident_may_rate(status_view, held_here):
    """Whether a resident who opened their case with its query code (`status_view`:
    schemas.public_status) may rate it here: completed, not rated yet, and held by this
    station (the counter where it was filed)."""
    return held_here and status_view["status"] == states.COMPLETED and not status_view["rating"]


def decision_waiting(case, user, station):
    """(step, departments) of the decision the case waits for at `station` that the
    user's role and department could give, before 受审分离; None if none. Township
    staff and village agents decide what is decided at their station (下放事项); at the
    district, the item's department's reviewer reviews and its approver approves, and
    each joint department's approver gives its own approval."""
    item, status = case["item"], case["status"]
    if case["holder_station"] != station or status not in states.DECIDING:
        return None
    local = user["role"] in roles.LOCAL_DECIDING_ROLES
    if status == states.JOINT_REVIEW:
        decided = {d["department"] for d in case["decisions"]}
        waiting = [d for d in item["joint_departments"] if d not in decided]
        if user["role"] == roles.APPROVER:
            waiting = [d for d in waiting if d == user["department"]]
        elif not local:
            return None
        return (APPROVE, waiting) if waiting else None
    step = REVIEW if status == states.PENDING_REVIEW else APPROVE
    wanted = roles.REVIEWER if step == REVIEW else roles.APPROVER
    if local or (user["role"] == wanted and user["department"] == item["department"]):
        return step, [item["department"]]
    return None


def _outcomes(case, step):
    """A pass of the approval waits for the materials a 容缺 acceptance left missing."""
    if step == APPROVE and (case.get("deficiency") or {}).get("missing"):
        return ["reject"]
    return ["pass", "reject"]


def _may(check, *args):
    try:
        check(*args)
    except Forbidden:
        return False
    return True


# -- 受审分离: who else may decide -------------------------------------------------------------------
def may_take_step(case, person, station):
    """Whether an active user of this station may give the decision the case waits for."""
    if not person.get("active", True):
        return False
    person = {**person, "station": station}
    decision = decision_waiting(case, person, station)
    return decision is not None and any(permissions.may_decide(person, case, decision[0], d)
                                        for d in decision[1])


def no_other_decider(step):
    return f"本站暂无其他可{separation.STEP_LABELS.get(step, '审批')}人员，请联系乡镇/区级"


def decision_note(case, user, station, colleagues):
    """Why this user, whose role decides the case, may not give the decision it waits
    for (受审分离), and who else at the station may, or that nobody may; None when the
    user may give it or has nothing to decide. `colleagues`: the station's users."""
    decision = decision_waiting(case, user, station)
    if decision is None or may_take_step(case, user, station):
        return None
    step, departments = decision
    why = separation.refusal(case, user["username"], station, step, departments[0])
    if why is None:
        return None
    others = [roles.signed(c) for c in colleagues
              if c["username"] != user["username"] and may_take_step(case, c, station)]
    if others:
        return f"{why}。本站可办理的人员：{'、'.join(others)}。"
    return f"{why}。{no_other_decider(step)}。"


def waiting_for_nobody(cases, station, colleagues):
    """[(case_no, note)]: the cases held here waiting for a decision that no active user
    of the station may give (whoever could accepted or reviewed it: 受审分离)."""
    return [(case["case_no"], f"{no_other_decider(_step_waited_for(case))}（{separation.RULE_ACCEPTOR}；"
             f"{separation.RULE_REVIEWER.split('：', 1)[1]}）")
            for case in cases
            if case["holder_station"] == station and case["status"] in states.DECIDING and separation.applies(case)
            and not any(may_take_step(case, person, station) for person in colleagues)]


def _step_waited_for(case):
    return REVIEW if case["status"] == states.PENDING_REVIEW else APPROVE


# -- what the user is shown -------------------------------------------------------------------------
def case_view(case, user, station, record_full_view):
    """The case as `user` at `station` sees it. The ID number and phone are shown in full
    only at the station holding the case (the counter or office acting on it) and only to
    roles whose decision needs them (permissions.sees_full_id); such a view is recorded
    first by `record_full_view(user, case)` (the access audit: services/access_audit.py).
    Anyone else gets them masked. The query code's hash is never shown: it is for checking
    codes only."""
    case = query_codes.without_seal(case)
    if case["holder_station"] == station and permissions.sees_full_id(user):
        record_full_view(user, case)
        return case
    return schemas.masked(case)


# -- the API's declaration of the actions ------------------------------------------------------------
class MaterialsSchema(Schema):
    materials = fields.List(fields.Nested(MaterialSchema))


class DecisionActionSchema(Schema):
    departments = fields.List(fields.String(), metadata={"description": "the departments the user may decide for"})
    outcomes = fields.List(fields.String(), metadata={
        "description": "pass and reject; reject only while materials accepted with deficiency (容缺) are missing"})


class ForwardActionSchema(Schema):
    deciding_station = fields.String()


class ExtensionDecisionActionSchema(Schema):
    days = fields.Integer(metadata={"description": "the working days asked for"})


class NothingNeededSchema(Schema):
    """An action whose request needs nothing from this answer."""


class ActionsSchema(Schema):
    """What the logged-in user may do now with the case (`actions` in a case's answer):
    an action is present only when offered, with what its request needs. Offered is not
    a promise: every request is checked again when it is made."""
    supplement = fields.Nested(MaterialsSchema, metadata={"description": "POST .../supplement"})
    return_ = fields.Nested(NothingNeededSchema, data_key="return", attribute="return",
                            metadata={"description": "POST .../return"})
    forward = fields.Nested(ForwardActionSchema, metadata={"description": "POST .../forward"})
    review = fields.Nested(DecisionActionSchema, metadata={"description": "POST .../decisions, step review"})
    approve = fields.Nested(DecisionActionSchema, metadata={"description": "POST .../decisions, step approve"})
    suspend = fields.Nested(MaterialsSchema, metadata={"description": "POST .../suspend"})
    request_extension = fields.Nested(NothingNeededSchema, metadata={"description": "POST .../extension"})
    decide_extension = fields.Nested(ExtensionDecisionActionSchema,
                                     metadata={"description": "POST .../extension/decision (the district)"})
    deliver = fields.Nested(NothingNeededSchema, metadata={"description": "POST .../deliver"})
    rate = fields.Nested(NothingNeededSchema, metadata={"description": "POST .../rating"})
    reissue_query_code = fields.Nested(NothingNeededSchema, metadata={"description": "POST .../query-code"})
