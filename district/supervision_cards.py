"""The district's supervision cards (监察卡) with their states, over HTTP:

    GET  /api/supervision/cards?state=&department=&station=&kind=&from=&to=&limit=&offset=
    GET  /api/supervision/cards/<id>                 the card and its history
    POST /api/supervision/cards/<id>/explain  {text}    the responsible department
    POST /api/supervision/cards/<id>/confirm  {reason?} the supervisor
    POST /api/supervision/cards/<id>/revoke   {reason}  the supervisor

A card's id is `<case_no>.<kind>`. The supervisor and the administrator list every card;
a department's reviewers and approvers their own department's. The rules are in
shared/supervision/cards.py, the rows in shared/supervision/card_store.py; every step is
written to the access audit, made or refused.
"""
from marshmallow import RAISE, Schema, fields, validate
from nameko.extensions import DependencyProvider

from services.http import http, json_body, json_response, page_of, query_date
from services.station_context import station_context
from shared.calendar import Schedule, WorkingDayCalendar
from shared.catalogue.store import CatalogueStore
from shared.exceptions import InvalidInput
from shared.supervision import card_store
from shared.supervision import cards as rules
from shared.validation import load


class ExplainSchema(Schema):
    class Meta:
        unknown = RAISE

    text = fields.String(required=True, validate=validate.Length(max=rules.TEXT_MAX),
                         metadata={"description": "the department's written explanation"})


class DecisionSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(load_default="", validate=validate.Length(max=rules.TEXT_MAX),
                           metadata={"description": "why (required to revoke)"})


class CardDesk:
    """The cards of the district's database, for one request."""

    def __init__(self, database, clock):
        self.database = database
        self.clock = clock

    def _store(self, session):
        calendar = WorkingDayCalendar(Schedule.from_dict(s) for s in CatalogueStore(session).schedules())
        return card_store.CardStore(session, calendar, self.clock.today())

    def page(self, user, limit=100, offset=0, **filters):
        """(total, {state: n}, cards) this user may see; {state: n} counts the cards of
        every state that the other filters select (the tabs of the list)."""
        filters["department"] = rules.listing_department(user, filters.get("department"))
        with self.database.reading() as session:
            store = self._store(session)
            total, found = store.page(limit=limit, offset=offset, **filters)
            other = {name: value for name, value in filters.items() if name != "state"}
            return total, store.by_state(**other), found

    def card(self, user, card_id):
        with self.database.reading() as session:
            found = self._store(session).card(card_id)
        rules.listing_department(user, found["department"])
        return found

    def step(self, action, card_id, data, user):
        now = self.clock.now()
        with self.database.transaction() as session:
            store = self._store(session)
            if action == rules.EXPLAIN:
                return store.explain(card_id, load(ExplainSchema, data)["text"], user, now)
            reason = load(DecisionSchema, data)["reason"]
            return store.confirm(card_id, reason, user, now) if action == rules.CONFIRM \
                else store.revoke(card_id, reason, user, now)

    def counts(self, start=None, end=None, by="none", states=rules.COUNTED):
        """card_store.counts on the district's database (what the assessment reads)."""
        with self.database.reading() as session:
            return card_store.counts(session, start, end, by, states)


class SupervisionCards(DependencyProvider):
    """Injects the district's CardDesk."""

    def setup(self):
        self.context = station_context(self.container.config)

    def get_dependency(self, worker_ctx):
        return CardDesk(self.context.database, self.context.clock)


def card_filters(request):
    """The list's filters from the query string (InvalidInput naming a bad one)."""
    start, end = query_date(request, "from"), query_date(request, "to")
    if start and end and end < start:
        raise InvalidInput("query parameter 'to' is before 'from'")
    found = {name: (request.args.get(name) or None) for name in ("state", "department", "station", "kind")}
    for name, value in found.items():
        if value is not None and len(value) > 40:
            raise InvalidInput(f"query parameter '{name}' is too long")
    return dict(found, start=start, end=end)


class CardEndpoints:
    """The card API, mixed into the district's gateway."""

    cards = SupervisionCards()

    @http("GET", "/api/supervision/cards")
    def supervision_cards(self, request):
        user = self.users.user(request)
        limit, offset = page_of(request)
        total, by_state, found = self.cards.page(user, limit=limit, offset=offset, **card_filters(request))
        return json_response({"total": total, "limit": limit, "offset": offset, "by_state": by_state,
                              "cards": found})

    @http("GET", "/api/supervision/cards/<string:card_id>")
    def supervision_card(self, request, card_id):
        return json_response(self.cards.card(self.users.user(request), card_id))

    @http("POST", "/api/supervision/cards/<string:card_id>/explain")
    def explain_card(self, request, card_id):
        return json_response(self._card_step(request, rules.EXPLAIN, card_id))

    @http("POST", "/api/supervision/cards/<string:card_id>/confirm")
    def confirm_card(self, request, card_id):
        return json_response(self._card_step(request, rules.CONFIRM, card_id))

    @http("POST", "/api/supervision/cards/<string:card_id>/revoke")
    def revoke_card(self, request, card_id):
        return json_response(self._card_step(request, rules.REVOKE, card_id))

    def _card_step(self, request, action, card_id, data=None):
        user = self.users.user(request)
        case_no = card_id.rpartition(".")[0][:40] or None
        with self.access_audit.change(user, f"{action}_card", case_no):
            if action == rules.EXPLAIN:
                rules.can_explain_at_all(user)
            else:
                rules.can_decide(user)
            return self.cards.step(action, card_id, json_body(request) if data is None else data, user)
