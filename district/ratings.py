"""The 好差评 cycle at the district (issue 20): the ratings' ledger, rectification orders
(整改), appeals (申诉复核) and their figures, over the district's database. The rules are
plain Python in shared/ratings/; this module reads and writes rows.

The ratings' step of the supervision patrol (district/supervision.py, `patrol`), every
minute by default, in one transaction:

1. a rating that reached the district with a case's record since the last patrol is
   copied into `ratings`; a bad one opens its rectification order, due in 5 working days;
   each in a savepoint of its own, so a rating the table refuses is logged and left out
   (and tried again next patrol) without holding back the others;
2. a case completed 7 or more days ago and still unrated gets 「基本满意（默认）」, counted
   apart from real ratings (a real rating that arrives later, e.g. from a station that was
   offline, takes its place);
3. an order still open after its due date raises one supervision card
   (shared/supervision/cards.py RECTIFICATION_CARD) against its office.

Why the patrol and not a timer at each station: the district holds every case's record,
its date and clock decide the 7 days for the whole district, and the default is counted
by the district's figures only; the station holding the case needs to change nothing (its
own counter refuses a rating once the 7 days are over, shared/cases/workflow.py `rate`).
Each step is idempotent (a row per case; the card's `card_raised` flag and the alert's
key), so a patrol repeated after a restart neither loses nor repeats one.
"""
import datetime as dt
import logging

from nameko.extensions import DependencyProvider
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from services.station_context import station_context
from shared.auth import permissions
from shared.auth.roles import signed
from shared.calendar import Schedule, WorkingDayCalendar
from shared.cases import states
from shared.catalogue.store import CatalogueStore
from shared.db.models import Case, RatingAppeal, RatingRecord, RatingStep, Rectification, SupervisionAlert
from shared.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from shared.ratings import appeals as appeal_rules
from shared.ratings import figures as rating_figures
from shared.ratings import levels
from shared.ratings import rectification as orders
from shared.ratings import schemas
from shared.ratings.policy import RatingPolicy, completed_on
from shared.supervision.cards import RECTIFICATION_CARD
from shared.supervision.lights import as_date
from shared.validation import load

log = logging.getLogger(__name__)

SYSTEM = "系统（好差评巡查）"
#: what the figures may be grouped by: the rating's columns
GROUPS = {"none": None, "department": RatingRecord.department, "filing_station": RatingRecord.filing_station}


class RatingDesk:
    def __init__(self, database, info, clock, policy=RatingPolicy()):
        self.database = database
        self.info = info
        self.clock = clock
        self.policy = policy

    def calendar(self, session):
        return WorkingDayCalendar(Schedule.from_dict(s) for s in CatalogueStore(session).schedules())

    # -- the patrol's step -------------------------------------------------------------
    def patrol(self):
        """Copy new ratings (opening orders for bad ones), give due defaults, raise cards
        for overdue orders; returns what it did: {"ratings": [case_no], "defaults":
        [case_no], "rectifications": [case_no], "cards": [case_no]}."""
        now = self.clock.now()
        today = as_date(now)
        done = {"ratings": [], "defaults": [], "rectifications": [], "cards": []}
        with self.database.transaction() as session:
            calendar = self.calendar(session)
            self._copy_ratings(session, now, today, calendar, done)
            self._give_defaults(session, now, today, done)
            self._raise_cards(session, now, today, done)
        return done

    def _copy_ratings(self, session, now, today, calendar, done):
        """Each rating in its own savepoint: one that the ledger cannot keep (a record
        stored before the contract bounded its fields, shared/contract.py
        RatingSnapshotSchema) is logged and left, and every other rating is copied.
        (On SQLite, pysqlite opens no transaction before a savepoint, so each copy commits
        on its own: still whole, rating and order together, and the patrol is idempotent.)"""
        real = exists().where(RatingRecord.case_no == Case.case_no, RatingRecord.is_default.is_(False))
        rows = session.scalars(select(Case).where(Case.rating_score.is_not(None), ~real)
                               .order_by(Case.case_no)).all()
        for row in rows:
            case_no = row.case_no
            try:
                with session.begin_nested():
                    bad = self._copy_rating(session, row, now, today, calendar)
            except (SQLAlchemyError, KeyError, TypeError, ValueError) as failed:
                log.error("ratings patrol: the rating of case %s cannot be copied, left out: %s",
                          case_no, str(failed)[:300])
                continue
            done["ratings"].append(case_no)
            if bad:
                done["rectifications"].append(case_no)

    def _copy_rating(self, session, row, now, today, calendar):
        """Copy one case's rating (opening its order if bad), flushed; True if bad."""
        rating = row.snapshot["rating"]
        level = levels.level_of(rating)
        reasons = [code for code in rating.get("reasons") or () if code in levels.REASONS]
        replaced = session.get(RatingRecord, row.case_no)
        if replaced is not None:   # a default given while the rating was on its way
            session.delete(replaced)
            session.flush()
            self._step(session, row.case_no, "replace_default", SYSTEM, now,
                       f"默认评价由群众评价（{levels.LABELS[level]}）取代")
        session.add(RatingRecord(
            case_no=row.case_no, level=level, score=levels.SCORES[level], reasons=",".join(reasons),
            comment=rating.get("comment") or "", is_default=False, rated_by=rating.get("by") or "",
            rated_at=rating["at"], rated_on=as_date(rating["at"]), department=row.department,
            deciding_station=row.deciding_station, filing_station=row.filing_station))
        self._step(session, row.case_no, "rate", rating.get("by") or "申请人", now,
                   levels.history_text(level, reasons, rating.get("comment") or ""))
        if levels.is_bad(level):
            self._open(session, row, reasons, now, today, calendar)
        session.flush()   # here, so that a value the table refuses fails in this savepoint
        return levels.is_bad(level)

    def _open(self, session, row, reasons, now, today, calendar):
        office, kind, station = orders.order_for(
            {"department": row.department, "deciding_station": row.deciding_station,
             "filing_station": row.filing_station}, reasons, self.info.code)
        due = self.policy.rectification_due(today, calendar)
        session.add(Rectification(case_no=row.case_no, office=office, office_kind=kind, station=station,
                                  state=orders.OPEN, opened_at=now.isoformat(), opened_on=today, due_date=due))
        self._step(session, row.case_no, "open", SYSTEM, now,
                   f"差评生成整改单，责任{'部门' if kind == orders.DEPARTMENT else '窗口'}：{office}，"
                   f"整改期限 {due.isoformat()}")

    def _give_defaults(self, session, now, today, done):
        # a case completes after it is decided: one decided less than the 7 days ago is
        # not read (nor is one that has a rating row)
        latest = today - dt.timedelta(days=self.policy.default_after_days)
        query = (select(Case).where(Case.status == states.COMPLETED, Case.rating_score.is_(None),
                                    Case.decided_on <= latest,
                                    ~exists().where(RatingRecord.case_no == Case.case_no))
                 .order_by(Case.case_no))
        for row in session.scalars(query):
            completed = completed_on(row.snapshot)
            if completed is None or today < self.policy.default_on(completed):
                continue
            on = self.policy.default_on(completed)
            session.add(RatingRecord(
                case_no=row.case_no, level=levels.BASIC, score=levels.SCORES[levels.BASIC], is_default=True,
                rated_by=SYSTEM, rated_at=now.isoformat(), rated_on=on, department=row.department,
                deciding_station=row.deciding_station, filing_station=row.filing_station))
            self._step(session, row.case_no, "default", SYSTEM, now,
                       f"办结（{completed.isoformat()}）后 {self.policy.default_after_days} 日未评价，"
                       f"记为{levels.DEFAULT_LABEL}")
            done["defaults"].append(row.case_no)

    def _raise_cards(self, session, now, today, done):
        query = (select(Rectification).where(Rectification.state == orders.OPEN, Rectification.due_date < today,
                                             Rectification.card_raised.is_(False))
                 .order_by(Rectification.case_no))
        for order in session.scalars(query):
            order.card_raised = True
            if session.get(SupervisionAlert, (order.case_no, RECTIFICATION_CARD)) is None:
                session.add(SupervisionAlert(case_no=order.case_no, kind=RECTIFICATION_CARD, department=order.office,
                                             station=order.station, raised_at=now.isoformat(),
                                             due_date=order.due_date.isoformat()))
            self._step(session, order.case_no, "card", SYSTEM, now,
                       f"整改单逾期（期限 {order.due_date.isoformat()}）未录入整改情况，下发监察卡")
            done["cards"].append(order.case_no)

    @staticmethod
    def _step(session, case_no, action, actor, now, text=""):
        session.add(RatingStep(case_no=case_no, action=action, actor=actor, at=now.isoformat(), text=text))

    # -- reading -------------------------------------------------------------------------
    def rectifications_page(self, user, state=None, office=None, limit=100, offset=0):
        """(total, {state: n}, orders) this user may see, newest first."""
        office = permissions.rectification_office(user, office)
        if state is not None and state not in orders.STATES:
            raise InvalidInput(f"query parameter 'state' must be one of {', '.join(orders.STATES)}")
        query = select(Rectification)
        if office:
            query = query.where(Rectification.office == office)
        with self.database.reading() as session:
            by_state = dict.fromkeys(orders.STATES, 0)
            for found, n in session.execute(query.with_only_columns(Rectification.state, func.count())
                                            .group_by(Rectification.state)):
                by_state[found] = int(n)
            if state:
                query = query.where(Rectification.state == state)
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.scalars(query.order_by(Rectification.opened_at.desc(), Rectification.case_no)
                                   .limit(limit).offset(offset))
            today, calendar = self.clock.today(), self.calendar(session)
            return total, by_state, [_order(o, today, calendar) for o in rows]

    def appeals_page(self, user, state=None, limit=100, offset=0):
        """(total, appeals) this user may see, oldest first (the supervisor's worklist)."""
        office = permissions.rectification_office(user)
        if state is not None and state not in appeal_rules.STATES:
            raise InvalidInput(f"query parameter 'state' must be one of {', '.join(appeal_rules.STATES)}")
        query = select(RatingAppeal)
        if office:
            query = query.where(RatingAppeal.office == office)
        if state:
            query = query.where(RatingAppeal.state == state)
        with self.database.reading() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            rows = session.scalars(query.order_by(RatingAppeal.appealed_at, RatingAppeal.case_no)
                                   .limit(limit).offset(offset))
            return total, [_appeal(a) for a in rows]

    def rating(self, user, case_no):
        """A case's rating with its order, its appeal and every step (annulled ones too).
        Who may read ratings is checked before anything is read; a department's user
        reads only its own (its order's office, or with no order, a good or default
        rating, the rating's department), and gets the same refusal for another's and
        for none, so the answer does not tell which cases were rated."""
        own = permissions.rectification_office(user)
        with self.database.reading() as session:
            if own is not None and self._office_of(session, case_no) != own:
                raise Forbidden(f"{user['name']}（{user['username']}）只能查看本部门（{own}）的评价记录")
            return self._view(session, case_no)

    @staticmethod
    def _office_of(session, case_no):
        """The office a case's rating is about: its order's, else the rating's department
        (None without a rating)."""
        order = session.get(Rectification, case_no)
        if order is not None:
            return order.office
        rating = session.get(RatingRecord, case_no)
        return rating.department if rating is not None else None

    def _view(self, session, case_no):
        rating = session.get(RatingRecord, case_no)
        if rating is None:
            raise NotFound(f"办件 {case_no} 没有评价记录")
        order = session.get(Rectification, case_no)
        appeal = session.get(RatingAppeal, case_no)
        steps = session.scalars(select(RatingStep).where(RatingStep.case_no == case_no).order_by(RatingStep.id))
        today = self.clock.today()
        return {"rating": _rating(rating),
                "rectification": _order(order, today, self.calendar(session)) if order else None,
                "appeal": _appeal(appeal) if appeal else None,
                "appeal_due": self._appeal_due(session, order).isoformat() if order else None,
                "history": [{"action": s.action, "actor": s.actor, "at": s.at, "text": s.text} for s in steps]}

    def _appeal_due(self, session, order):
        return self.policy.appeal_due(order.opened_on, self.calendar(session))

    # -- the steps on an order -------------------------------------------------------------
    def act(self, case_no, data, user):
        """The office records what it did (整改情况)."""
        text = orders.clean_text(load(schemas.ActionSchema, data)["action"], "action")
        now = self.clock.now()
        with self.database.transaction() as session:
            order = self._order_row(session, case_no)
            permissions.can_act_on_rectification(user, _order(order, as_date(now)), self.info.code)
            late = as_date(now) > order.due_date
            self._move(session, order, orders.ACT, action=text, acted_by=signed(user), acted_on=as_date(now))
            self._step(session, case_no, orders.ACT, signed(user), now, text + ("（逾期整改）" if late else ""))
            return self._view(session, case_no)

    def follow_up(self, case_no, data, user):
        """The supervisor's follow-up call (回访) with the resident's answer, and the
        resident's rating of the rectification if they gave it on the call."""
        permissions.can_follow_up_rectification(user)
        request = load(schemas.FollowUpSchema, data)
        answer = orders.clean_text(request["answer"], "answer")
        level = request.get("level")
        now = self.clock.now()
        with self.database.transaction() as session:
            order = self._order_row(session, case_no)
            values = {"follow_up": answer, "followed_up_by": signed(user), "followed_up_on": as_date(now)}
            if level:
                values["resident_level"] = level
            self._move(session, order, orders.FOLLOW_UP, closes=bool(level), **values)
            self._step(session, case_no, orders.FOLLOW_UP, signed(user), now,
                       answer + (f"；群众对整改的评价：{levels.LABELS[level]}" if level else ""))
            return self._view(session, case_no)

    def rate_rectification(self, case_no, data, user):
        """The resident's rating of the rectification, recorded after the follow-up call."""
        permissions.can_follow_up_rectification(user)
        level = load(schemas.ResidentLevelSchema, data)["level"]
        now = self.clock.now()
        with self.database.transaction() as session:
            order = self._order_row(session, case_no)
            self._move(session, order, orders.RATE, resident_level=level)
            self._step(session, case_no, orders.RATE, signed(user), now, f"群众对整改的评价：{levels.LABELS[level]}")
            return self._view(session, case_no)

    def _order_row(self, session, case_no):
        order = session.get(Rectification, case_no)
        if order is None:
            raise NotFound(f"办件 {case_no} 没有整改单")
        return order

    @staticmethod
    def _move(session, order, step, closes=False, **values):
        """The order's next state after `step`, written with a compare-and-set (UPDATE ...
        WHERE state = the state read): of two steps at once, the second gets Conflict."""
        state = order.state
        to_state = orders.next_state(state, step, closes)
        done = session.execute(update(Rectification)
                               .where(Rectification.case_no == order.case_no, Rectification.state == state)
                               .values(state=to_state, **values).execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise Conflict("该整改单刚由他人处理，请刷新后再试")
        session.expire(order)

    # -- appeals -------------------------------------------------------------------------
    def appeal(self, case_no, data, user):
        """The office named by the rating's order appeals it, once, within its days."""
        reason = orders.clean_text(load(schemas.AppealSchema, data)["reason"], "reason")
        now = self.clock.now()
        with self.database.transaction() as session:
            rating = session.get(RatingRecord, case_no)
            order = session.get(Rectification, case_no)
            if rating is None or order is None:
                raise NotFound(f"办件 {case_no} 没有可申诉的差评")
            permissions.can_appeal_rating(user, _order(order, as_date(now)), self.info.code)
            existing = session.get(RatingAppeal, case_no)
            appeal_rules.check_appealable(_rating(rating), existing.state if existing else None, as_date(now),
                                          self._appeal_due(session, order))
            session.add(RatingAppeal(case_no=case_no, office=order.office, reason=reason, appealed_by=signed(user),
                                     appealed_at=now.isoformat(), state=appeal_rules.PENDING))
            try:
                session.flush()
            except IntegrityError:   # another appeal was added first: the transaction rolls back
                raise Conflict("该评价刚由他人申诉，请刷新后再试") from None
            self._step(session, case_no, "appeal", signed(user), now, reason)
            return self._view(session, case_no)

    def decide_appeal(self, case_no, data, user):
        """The supervisor upholds the rating or annuls it (it leaves the figures, its order
        is cancelled; every row and step stays)."""
        permissions.can_decide_rating_appeal(user)
        request = load(schemas.AppealDecisionSchema, data)
        reason = request["reason"].strip()
        now = self.clock.now()
        with self.database.transaction() as session:
            appeal = session.get(RatingAppeal, case_no)
            if appeal is None:
                raise NotFound(f"办件 {case_no} 的评价没有申诉")
            to_state = appeal_rules.decided_state(appeal.state, request["decision"], reason)
            done = session.execute(update(RatingAppeal)
                                   .where(RatingAppeal.case_no == case_no, RatingAppeal.state == appeal_rules.PENDING)
                                   .values(state=to_state, decided_by=signed(user), decided_at=now.isoformat(),
                                           decision_reason=reason).execution_options(synchronize_session=False))
            if done.rowcount != 1:
                raise Conflict("该申诉刚由他人复核，请刷新后再试")
            self._step(session, case_no, request["decision"], signed(user), now,
                       appeal_rules.STATE_LABELS[to_state] + (f"：{reason}" if reason else ""))
            if to_state == appeal_rules.ANNULLED:
                session.execute(update(RatingRecord).where(RatingRecord.case_no == case_no).values(annulled=True)
                                .execution_options(synchronize_session=False))
                order = session.get(Rectification, case_no)
                if order is not None and order.state not in (orders.CLOSED, orders.CANCELLED):
                    self._move(session, order, orders.CANCEL)
                    self._step(session, case_no, orders.CANCEL, signed(user), now, "评价作废，整改单撤销")
            session.expire_all()
            return self._view(session, case_no)

    # -- figures -------------------------------------------------------------------------
    def figures(self, start=None, end=None, by="none"):
        """The rating figures (shared/ratings/figures.py) of the ratings given from `start`
        to `end` (district days, both included), grouped by `by` (GROUPS): [{group, ...}]
        with the total last."""
        if by not in GROUPS:
            raise InvalidInput(f"query parameter 'by' must be one of {', '.join(GROUPS)}")
        if start is not None and end is not None and start > end:
            raise InvalidInput(f"period: 'from' ({start}) is after 'to' ({end})")
        query = select(RatingRecord)
        if start is not None:
            query = query.where(RatingRecord.rated_on >= start)
        if end is not None:
            query = query.where(RatingRecord.rated_on <= end)
        cases = query.with_only_columns(RatingRecord.case_no).scalar_subquery()
        with self.database.reading() as session:
            ratings = [_rating(r) for r in session.scalars(query)]
            order_rows = [_order(o) for o in session.scalars(select(Rectification)
                                                              .where(Rectification.case_no.in_(cases)))]
            appeal_rows = [_appeal(a) for a in session.scalars(select(RatingAppeal)
                                                               .where(RatingAppeal.case_no.in_(cases)))]
        column = GROUPS[by]
        rows = []
        if column is not None:
            key = column.key
            found = rating_figures.grouped(ratings, order_rows, appeal_rows, key=lambda r: r[key])
            rows = [{"group": group, **found[group]} for group in sorted(found)]
        rows.append({"group": "total", **rating_figures.figures(ratings, order_rows, appeal_rows)})
        return rows


def _rating(r):
    return {"case_no": r.case_no, "level": r.level, "score": r.score,
            "label": levels.label(r.level, r.is_default), "is_default": bool(r.is_default),
            "reasons": [c for c in r.reasons.split(",") if c],
            "reason_labels": [levels.REASONS[c][0] for c in r.reasons.split(",") if c in levels.REASONS],
            "comment": r.comment, "rated_by": r.rated_by,
            "rated_at": r.rated_at, "rated_on": r.rated_on, "department": r.department,
            "deciding_station": r.deciding_station, "filing_station": r.filing_station,
            "annulled": bool(r.annulled)}


def _order(o, today=None, calendar=None):
    found = {"case_no": o.case_no, "office": o.office, "office_kind": o.office_kind, "station": o.station,
             "state": o.state, "state_label": orders.STATE_LABELS[o.state], "opened_at": o.opened_at,
             "due_date": o.due_date, "action": o.action, "acted_by": o.acted_by, "acted_on": o.acted_on,
             "follow_up": o.follow_up, "followed_up_by": o.followed_up_by, "followed_up_on": o.followed_up_on,
             "resident_level": o.resident_level, "card_raised": bool(o.card_raised)}
    if today is not None:
        found["overdue"] = orders.overdue(found, today)
    if calendar is not None:
        found["light"] = orders.light(found, today, calendar)
    return found


def _appeal(a):
    return {"case_no": a.case_no, "office": a.office, "reason": a.reason, "appealed_by": a.appealed_by,
            "appealed_at": a.appealed_at, "state": a.state, "state_label": appeal_rules.STATE_LABELS[a.state],
            "decided_by": a.decided_by, "decided_at": a.decided_at, "decision_reason": a.decision_reason}


class Ratings(DependencyProvider):
    """Injects the district's RatingDesk."""

    def setup(self):
        self.context = station_context(self.container.config)

    def get_dependency(self, worker_ctx):
        c = self.context
        return RatingDesk(c.database, c.info, c.clock)
