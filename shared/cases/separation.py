"""受审分离 and 一审一核: two people for a two-step decision.

The rule, for a case whose item is decided in two steps (review, then approval) or by
several departments in parallel (joint):

- the user who accepted the case may not review it, nor approve it (for a joint case:
  give any department's decision);
- the user who reviewed it for a department may not approve it for that department.

Not covered, on purpose:

- immediate items (即办件): decided on the spot, the same day, by the user at the counter
  who accepted them, as the catalogue declares them;
- one-step items (decision steps ``['approve']`` only): the catalogue declares one person's
  decision; to require two people, make the item two-step in the catalogue;
- asking for more materials (补正, the clock stops) and asking for an extension: they
  decide nothing about the application, so the acceptor may do them; handing the result
  over (送达) is the filing counter's work, usually by the very person who accepted it.

Who counts, and where. The case's history says who did what at which station: each
entry carries the station and the actor as ``roles.signed(user)``, "name（username）"
(decision records carry the operator and station the same way). Usernames are unique
within a station, so a person is (station, username); only what the deciding station's
own users did there counts against them:

- "the acceptor" at a station is whoever filed the case there or completed its
  materials there (the supplement that turned a waiting case into an accepted one). A
  village agent who files for a township's item is at another station: the township
  received the case from the network ("system"), nobody there accepted it, so any of its
  eligible users may review and another approve. The same for a case the district's window
  routes down to a township, and for a township that checked and forwarded a village's
  case to the district (初审转报: the township does not decide it).
- At the district the roles already separate the steps (the window clerk accepts, each
  department's reviewer reviews and its approver approves); the rule still holds there,
  so a reviewer's account given the approver's role cannot approve what it reviewed.
  Joint items are approved by each department once, with no review step, so only the
  acceptor rule applies to them; one township user may give several departments'
  decisions of a joint case delegated to the township.

A refusal is ``Forbidden`` (HTTP 403) with a message naming the rule. A station where
nobody else may take the step says so on the desk's worklist and case page
(shared/cases/views.py) instead of letting one person do both.
"""
from shared.cases import states
from shared.exceptions import Forbidden

RULE_ACCEPTOR = "受审分离：受理人不得审查或审批本人受理的办件"
RULE_REVIEWER = "受审分离：审查人不得审批本人审查的办件"
STEP_LABELS = {"review": "审查", "approve": "审批"}


def applies(case):
    """Whether the case's item is one the rule covers (two steps or joint, not immediate)."""
    item = case.get("item") or {}
    if item.get("processing_type") == "immediate":
        return False
    return item.get("processing_type") == "joint" or "review" in (item.get("decision_steps") or ())


def username_of(actor):
    """The username in an actor's signature "name（username）" (roles.signed), or None
    for "system" and other non-person actors."""
    if not isinstance(actor, str) or not actor.endswith("）") or "（" not in actor:
        return None
    return actor[:-1].rsplit("（", 1)[1] or None


def acceptors(case, station):
    """The usernames that filed the case at `station` or completed its materials there."""
    return {username_of(entry.get("actor")) for entry in case.get("history") or ()
            if entry.get("station") == station
            and (entry.get("action") == "file" or entry.get("to_status") in states.ACCEPTANCE_OUTCOMES)} - {None}


def reviewers(case, station, department):
    """The usernames that gave `department`'s review of the case at `station`."""
    return {username_of(d.get("operator")) for d in case.get("decisions") or ()
            if d.get("step") == "review" and d.get("department") == department
            and d.get("station") == station} - {None}


def refusal(case, username, station, step, department):
    """Why the user (`username` at `station`) may not give this decision, or None."""
    if not applies(case):
        return None
    if username in acceptors(case, station):
        return (f"{RULE_ACCEPTOR}（{username} 受理了办件 {case.get('case_no')}，"
                f"{STEP_LABELS.get(step, step)}须由本站其他人员办理）")
    if step == "approve" and username in reviewers(case, station, department):
        return f"{RULE_REVIEWER}（{username} 审查了办件 {case.get('case_no')}，审批须由另一人办理）"
    return None


def check(case, user, step, department):
    """Raise Forbidden unless `user` (a logged-in user's dict) may give this decision."""
    why = refusal(case, user["username"], user["station"], step, department)
    if why:
        raise Forbidden(why)
