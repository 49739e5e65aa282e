"""The district's cards in its database: listing, the steps (explain, confirm, revoke)
and the counts the figures and the assessment read. The rules are in
shared/supervision/cards.py; this module only reads and writes rows.

A card is a `supervision_alerts` row (written by the patrol, or by a recorded year) and,
once a step was taken on it, its `supervision_cards` row with the state; without one it
is `issued`. Every step appends a `supervision_card_steps` row in the same transaction.
A step is written with a compare-and-set (INSERT of the state row, or UPDATE ... WHERE
state = <the state read>), so two people acting on one card at once cannot both pass:
the second gets Conflict and nothing of theirs is stored.
"""
import datetime as dt

from sqlalchemy import and_, exists, func, literal_column, select, update
from sqlalchemy.exc import IntegrityError

from shared.auth.roles import signed
from shared.db.models import Case, SupervisionAlert, SupervisionCard, SupervisionCardStep
from shared.exceptions import Conflict, InvalidInput, NotFound
from shared.supervision import cards as rules

#: a card's state as the database sees it (no state row: issued)
STATE = func.coalesce(SupervisionCard.state, literal_column(f"'{rules.ISSUED}'"))  # inlined: GROUP BY it
_JOIN = and_(SupervisionCard.case_no == SupervisionAlert.case_no, SupervisionCard.kind == SupervisionAlert.kind)

def not_revoked():
    """A WHERE clause over SupervisionAlert: the alert's card was not revoked (what the
    statistics count, shared/supervision/aggregates.py)."""
    return ~exists().where(SupervisionCard.case_no == SupervisionAlert.case_no,
                           SupervisionCard.kind == SupervisionAlert.kind,
                           SupervisionCard.state == rules.REVOKED)


#: what `counts` groups by: the alert's own columns, or its case's
COUNT_GROUPS = {
    "none": None,
    "department": SupervisionAlert.department,   # the responsible department
    "station": SupervisionAlert.station,         # the station holding the case when raised
    "filing_station": Case.filing_station,
    "tier": Case.filing_tier,
    "item": Case.item_code,
}
CASE_GROUPS = ("filing_station", "tier", "item")


def _day_bounds(query, column, start, end):
    """Alerts raised from `start` to `end` (district days, both included): `raised_at`
    is the district's local ISO time, so its text sorts as its time."""
    if start is not None:
        query = query.where(column >= start.isoformat())
    if end is not None:
        query = query.where(column < (end + dt.timedelta(days=1)).isoformat())
    return query


def counts(session, start=None, end=None, by="none", states=rules.COUNTED, kinds=rules.CASE_KINDS):
    """{group: {"warning": n, "yellow_card": n, "red_card": n}} of the cards raised from
    `start` to `end` (dates, both included, None for open) in one of `states` (by
    default every state but revoked: what the figures count; the assessment asks for
    `states=("confirmed",)`), grouped by `by` (COUNT_GROUPS; the key is None for
    "none"). Groups without a card are absent."""
    if by not in COUNT_GROUPS:
        raise InvalidInput(f"by: must be one of {', '.join(COUNT_GROUPS)}")
    column = COUNT_GROUPS[by]
    keys = [column] if column is not None else []
    query = (select(*keys, SupervisionAlert.kind, func.count()).select_from(SupervisionAlert)
             .outerjoin(SupervisionCard, _JOIN)
             .where(STATE.in_(list(states)), SupervisionAlert.kind.in_(list(kinds))))
    if by in CASE_GROUPS:
        query = query.join(Case, Case.case_no == SupervisionAlert.case_no)
    query = _day_bounds(query, SupervisionAlert.raised_at, start, end).group_by(*keys, SupervisionAlert.kind)
    found = {}
    for row in session.execute(query):
        row = tuple(row)
        key = row[0] if keys else None
        found.setdefault(key, dict.fromkeys(kinds, 0))[row[-2]] = int(row[-1])
    return found


def _listing(state=None, department=None, station=None, kind=None, case_no=None, start=None, end=None):
    query = (select(SupervisionAlert, SupervisionCard, Case.item_name, Case.filing_station)
             .select_from(SupervisionAlert)
             .outerjoin(SupervisionCard, _JOIN)
             .outerjoin(Case, Case.case_no == SupervisionAlert.case_no))
    if state:
        if state not in rules.STATES:
            raise InvalidInput(f"query parameter 'state' must be one of {', '.join(rules.STATES)}")
        query = query.where(STATE == state)
    if kind:
        if kind not in rules.KINDS:
            raise InvalidInput(f"query parameter 'kind' must be one of {', '.join(rules.KINDS)}")
        query = query.where(SupervisionAlert.kind == kind)
    if department:
        query = query.where(SupervisionAlert.department == department)
    if station:
        query = query.where(SupervisionAlert.station == station)
    if case_no:
        query = query.where(SupervisionAlert.case_no == case_no)
    return _day_bounds(query, SupervisionAlert.raised_at, start, end)


def _as_dict(alert, card, item_name, filing_station, calendar, today):
    issued_on = dt.date.fromisoformat(alert.raised_at[:10])
    due = rules.explain_due(issued_on, calendar)
    state = card.state if card else rules.ISSUED
    return {
        "id": rules.card_id(alert.case_no, alert.kind), "case_no": alert.case_no, "kind": alert.kind,
        "department": alert.department, "station": alert.station, "filing_station": filing_station,
        "item_name": item_name, "raised_at": alert.raised_at, "case_due_date": alert.due_date,
        "state": state, "explain_due": due.isoformat(),
        "explanation_overdue": state == rules.ISSUED and today > due,
        "explanation": card.explanation if card else None,
        "explained_by": card.explained_by if card else None,
        "explained_at": card.explained_at if card else None,
        "explained_late": bool(card.explained_late) if card else False,
        "decided_by": card.decided_by if card else None,
        "decided_at": card.decided_at if card else None,
        "decision_reason": card.decision_reason if card else None,
    }


class CardStore:
    """The cards of one session (a transaction for the steps)."""

    def __init__(self, session, calendar, today):
        self.session = session
        self.calendar = calendar
        self.today = today

    def page(self, limit=100, offset=0, **filters):
        """(total, cards): one page of the cards, newest first."""
        query = _listing(**filters)
        total = self.session.scalar(select(func.count()).select_from(
            query.with_only_columns(SupervisionAlert.case_no).order_by(None).subquery()))
        query = query.order_by(SupervisionAlert.raised_at.desc(), SupervisionAlert.case_no, SupervisionAlert.kind)
        rows = self.session.execute(query.limit(limit).offset(offset))
        return total, [_as_dict(*row, self.calendar, self.today) for row in rows]

    def by_state(self, **filters):
        """{state: n} of the cards the filters select (every state present, 0 if none)."""
        query = _listing(**filters).with_only_columns(STATE, func.count()).group_by(STATE)
        found = dict.fromkeys(rules.STATES, 0)
        for state, n in self.session.execute(query):
            found[state] = int(n)
        return found

    def card(self, card_id):
        """The card with its history (oldest step first); NotFound."""
        case_no, kind = rules.parse_card_id(card_id)
        row = self.session.execute(_listing(case_no=case_no, kind=kind)).first()
        if row is None:
            raise NotFound(f"没有编号为 {card_id} 的监察卡")
        found = _as_dict(*row, self.calendar, self.today)
        found["history"] = [{"action": "issue", "from_state": None, "to_state": rules.ISSUED,
                             "actor": "电子监察巡查", "username": None, "at": found["raised_at"], "text": "",
                             "late": False}]
        steps = self.session.scalars(select(SupervisionCardStep)
                                     .where(SupervisionCardStep.case_no == case_no, SupervisionCardStep.kind == kind)
                                     .order_by(SupervisionCardStep.id))
        found["history"] += [{"action": s.action, "from_state": s.from_state, "to_state": s.to_state,
                              "actor": s.actor, "username": s.username, "at": s.at, "text": s.text,
                              "late": bool(s.late)} for s in steps]
        return found

    # -- the steps ----------------------------------------------------------------------
    def explain(self, card_id, text, user, now):
        card = self.card(card_id)
        rules.can_explain(user, card["department"])
        text = rules.clean_text(text, "text")
        late = rules.explanation_overdue(dt.date.fromisoformat(card["raised_at"][:10]), now.date(), self.calendar)
        return self._step(card, rules.EXPLAIN, user, now, text, late,
                          explanation=text, explained_by=signed(user), explained_at=now.isoformat(),
                          explained_late=late)

    def confirm(self, card_id, reason, user, now):
        card = self.card(card_id)
        rules.can_decide(user)
        reason = rules.clean_text(reason, "reason", required=False)
        return self._step(card, rules.CONFIRM, user, now, reason, False,
                          decided_by=signed(user), decided_at=now.isoformat(), decision_reason=reason)

    def revoke(self, card_id, reason, user, now):
        card = self.card(card_id)
        rules.can_decide(user)
        reason = rules.clean_text(reason, "reason")
        return self._step(card, rules.REVOKE, user, now, reason, False,
                          decided_by=signed(user), decided_at=now.isoformat(), decision_reason=reason)

    def _step(self, card, action, user, now, text, late, **values):
        state = card["state"]
        to_state = rules.next_state(state, action, card["explanation_overdue"])
        case_no, kind = card["case_no"], card["kind"]
        if state == rules.ISSUED:  # no state row yet: the first step adds it
            self.session.add(SupervisionCard(case_no=case_no, kind=kind, state=to_state, **values))
            try:
                self.session.flush()
            except IntegrityError:  # another step added it first: the transaction rolls back
                raise Conflict("该监察卡刚由他人处理，请刷新后再试") from None
        else:
            done = self.session.execute(
                update(SupervisionCard)
                .where(SupervisionCard.case_no == case_no, SupervisionCard.kind == kind,
                       SupervisionCard.state == state)
                .values(state=to_state, **values)
                .execution_options(synchronize_session=False))
            if done.rowcount != 1:
                raise Conflict("该监察卡刚由他人处理，请刷新后再试")
        self.session.add(SupervisionCardStep(case_no=case_no, kind=kind, action=action, from_state=state,
                                             to_state=to_state, actor=signed(user), username=user["username"],
                                             at=now.isoformat(), text=text, late=late))
        self.session.flush()
        return self.card(card["id"])
