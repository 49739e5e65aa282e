"""电子监察 at the district: every running case's light, the warnings and cards it raises,
follow-ups of bad ratings, and the statistics.

A patrol looks at every running case in the district's record. A case at most N working
days from its due date gets one "due soon" warning, sent to the station holding it; an
overdue case raises a yellow card against its department, and a red card once it is
overdue by more than the configured share of its promised limit. Each (case, kind) is
raised once: the alert row and the outgoing message are committed together, so a restart
neither loses nor repeats one.
"""

from nameko.extensions import DependencyProvider
from sqlalchemy import func, select

from services.station_context import station_context
from shared.auth import permissions
from shared.calendar import Schedule, WorkingDayCalendar
from shared.cases import states
from shared.cases.schemas import FollowUpAnswerSchema
from shared.catalogue.store import CatalogueStore
from shared.db import outbox
from shared.db.models import Case, FollowUpAnswer, StationAlert, SupervisionAlert
from shared.exceptions import Conflict, InvalidInput, NotFound
from shared.messages import CASE_ALERT, CASES_EXCHANGE, new_message_id
from shared.supervision import aggregates
from shared.supervision.lights import GREEN, RED, YELLOW, card, light
from shared.supervision.schemas import AlertSchema
from shared.validation import load

ALERT_TEXT = {
    "warning": "办件{case_no}（{item}）将于{due}到期，请抓紧办理",
    "yellow_card": "黄牌：办件{case_no}（{item}）已超过承诺期限{due}",
    "red_card": "红牌：办件{case_no}（{item}）严重超期（期限{due}）",
}


class SupervisionDesk:
    def __init__(self, database, relay, info, clock, yellow_days=1, red_share=0.5):
        self.database = database
        self.relay = relay
        self.info = info
        self.clock = clock
        self.yellow_days = yellow_days
        self.red_share = red_share

    def calendar(self, session):
        return WorkingDayCalendar(Schedule.from_dict(s) for s in CatalogueStore(session).schedules())

    def patrol(self):
        """Raise what is due; returns the alerts raised in this patrol."""
        today = self.clock.today()
        raised, ids = [], []
        with self.database.transaction() as session:
            calendar = self.calendar(session)
            # an online application waiting for its pre-review has its one-day limit (shared/cases/pre_review.py)
            rows = session.scalars(select(Case).where(
                Case.status.in_([*states.RUNNING, states.SUSPENDED, states.PRE_REVIEW])))
            cases = [row.snapshot for row in rows]
            existing = {(a.case_no, a.kind) for a in session.scalars(
                select(SupervisionAlert).where(SupervisionAlert.case_no.in_([c["case_no"] for c in cases])))}
            for case in cases:
                kinds = []
                colour = light(case, today, calendar, self.yellow_days)
                if colour == "yellow":
                    kinds.append("warning")
                given = card(case, today, calendar, self.red_share)
                if given in ("yellow", "red"):
                    kinds.append("yellow_card")
                if given == "red":
                    kinds.append("red_card")
                for kind in kinds:
                    if (case["case_no"], kind) in existing:
                        continue
                    alert = self._raise(session, case, kind, today)
                    if alert["message_id"]:
                        ids.append(alert["message_id"])
                    raised.append(alert)
        if ids:
            self.relay.flush(ids)
        return raised

    def _raise(self, session, case, kind, today):
        at = self.clock.now().isoformat()
        department = case["item"]["department"]
        session.add(SupervisionAlert(case_no=case["case_no"], kind=kind, department=department,
                                     station=case["holder_station"], raised_at=at, due_date=case["due_date"]))
        body = AlertSchema().dump({"case_no": case["case_no"], "kind": kind, "department": department, "at": at,
                                   "text": ALERT_TEXT[kind].format(case_no=case["case_no"], item=case["item"]["name"],
                                                                   due=case["due_date"])})
        message_id = None
        if case["holder_station"] == self.info.code:
            session.add(StationAlert(message_id=new_message_id(), case_no=body["case_no"], kind=kind,
                                     department=department, text=body["text"], raised_at=at))
        else:
            message_id = outbox.add_message(session, CASES_EXCHANGE, case["holder_station"], CASE_ALERT, body,
                                            self.info.code)
        return dict(body, station=case["holder_station"], message_id=message_id)

    # -- reading ---------------------------------------------------------------------------
    # The lists below answer one page (limit, offset) with the total: the database reads
    # only that page's rows (the lights of one colour excepted, see lights_page).

    def alerts(self, kind=None, department=None):
        """Every alert raised (the statistics count them)."""
        with self.database.reading() as session:
            return [_alert(a) for a in session.scalars(_alerts_query(kind, department))]

    def alerts_page(self, kind=None, department=None, limit=100, offset=0):
        """(total, alerts): one page of the alerts raised, oldest first."""
        query = _alerts_query(kind, department)
        with self.database.reading() as session:
            total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
            return total, [_alert(a) for a in session.scalars(query.limit(limit).offset(offset))]

    def lights_page(self, colour=None, limit=100, offset=0):
        """(total, rows): one page of the running cases with their light today, soonest
        due first. Without a colour, only the page's snapshots are read. A colour is
        computed from each snapshot (a paused clock shifts it), so the running cases are
        read a batch at a time and only the page is kept; red ones are only those due
        before today, which the database selects."""
        if colour is not None and colour not in COLOURS:
            raise InvalidInput(f"query parameter 'light' must be one of {', '.join(COLOURS)}")
        today = self.clock.today()
        query = (select(Case).where(Case.status.in_([*states.RUNNING, states.SUSPENDED, states.PRE_REVIEW]))
                 .order_by(Case.due_date, Case.case_no))
        with self.database.reading() as session:
            calendar = self.calendar(session)

            def row(r, colour_today):
                return {"case_no": r.case_no, "item_name": r.item_name, "department": r.department,
                        "holder_station": r.holder_station, "status": r.status,
                        "due_date": r.due_date.isoformat(), "light": colour_today}

            if colour is None:
                total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
                rows = session.scalars(query.limit(limit).offset(offset))
                return total, [row(r, light(r.snapshot, today, calendar, self.yellow_days)) for r in rows]
            if colour == RED:  # overdue: the clock date (today at the latest) is after the due date
                query = query.where(Case.due_date < today)
            total, page = 0, []
            for r in session.scalars(query.execution_options(yield_per=LIGHTS_BATCH)):
                if light(r.snapshot, today, calendar, self.yellow_days) == colour:
                    if offset <= total < offset + limit:
                        page.append(row(r, colour))
                    total += 1
            return total, page

    def statistics(self, start=None, end=None, by="none", network=None):
        """The figures of the cases filed from `start` to `end`, counted by the database
        over the cases' summary columns (shared/supervision/aggregates.py): a district
        year is over a hundred thousand cases, and no snapshot is read."""
        if start is not None and end is not None and start > end:
            raise InvalidInput(f"period: 'from' ({start}) is after 'to' ({end})")
        with self.database.reading() as session:
            return aggregates.statistics(session, start=start, end=end, by=by, network=network)

    # -- follow-ups of bad ratings (整改) ----------------------------------------------------
    def follow_ups(self, department=None, limit=100, offset=0):
        """(total, follow-ups): one page of the bad ratings (1-2) with their answers, newest
        case first; `department` limits them to one department. The database selects
        the bad ratings by the cases' rating column, so only the page's cases are read."""
        query = select(Case).where(Case.status == states.COMPLETED, Case.rating_score <= 2)
        if department:
            query = query.where(Case.department == department)
        with self.database.reading() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = list(session.scalars(query.order_by(Case.filed_at.desc(), Case.case_no.desc())
                                        .limit(limit).offset(offset)))
            answers = {a.case_no: a for a in session.scalars(
                select(FollowUpAnswer).where(FollowUpAnswer.case_no.in_([r.case_no for r in rows])))}
            found = []
            for row in rows:
                rating = row.snapshot["rating"]
                answer = answers.get(row.case_no)
                found.append({"case_no": row.case_no, "department": row.department, "score": rating["score"],
                              "comment": rating.get("comment", ""), "rated_at": rating["at"],
                              "status": "answered" if answer else "open",
                              "answer": answer.answer if answer else None,
                              "answered_by": answer.answered_by if answer else None})
            return total, found

    def answer_follow_up(self, case_no, data, user):
        """The responsible department answers a bad rating (整改), once. Whether the user
        answers follow-ups at all is checked before the case is looked up (a supervisor
        is refused alike whether or not one is open); their department, once it is found."""
        permissions.can_answer_follow_ups(user)
        with self.database.transaction() as session:
            row = session.get(Case, case_no)
            rating = row.snapshot.get("rating") if row else None
            if not rating or rating["score"] > 2:
                raise NotFound(f"no follow-up is open for case {case_no}")
            permissions.can_answer_follow_up(user, row.department)
            answer = load(FollowUpAnswerSchema(), data)["answer"].strip()
            if len(answer) < 2:
                raise InvalidInput("answer: write the department's answer (at least 2 characters)")
            if session.get(FollowUpAnswer, case_no):
                raise Conflict(f"the follow-up of case {case_no} has already been answered")
            session.add(FollowUpAnswer(case_no=case_no, department=row.department, answer=answer,
                                       answered_by=user["username"], answered_at=self.clock.now().isoformat()))
        return {"case_no": case_no, "status": "answered", "answer": answer, "answered_by": user["username"]}


COLOURS = (GREEN, YELLOW, RED)
# running cases read at a time when the lights of one colour are counted
LIGHTS_BATCH = 500


def _alerts_query(kind, department):
    query = select(SupervisionAlert).order_by(SupervisionAlert.raised_at, SupervisionAlert.case_no,
                                              SupervisionAlert.kind)
    if kind:
        query = query.where(SupervisionAlert.kind == kind)
    if department:
        query = query.where(SupervisionAlert.department == department)
    return query


def _alert(a):
    return {"case_no": a.case_no, "kind": a.kind, "department": a.department, "station": a.station,
            "at": a.raised_at, "due_date": a.due_date}


class Supervision(DependencyProvider):
    """Injects the district's SupervisionDesk."""

    def setup(self):
        self.context = station_context(self.container.config)

    def get_dependency(self, worker_ctx):
        c = self.context
        policy = c.info.network.supervision  # the district's rules, in its network file
        return SupervisionDesk(c.database, c.relay, c.info, c.clock, policy.yellow_days, policy.red_share)
