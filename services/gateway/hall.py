"""The service hall's HTTP API (issue 17): slots and appointments for residents (public;
the three credentials — booking number, ID number, mobile — open an appointment, and
failures are limited like case lookups), tickets and calling for counters, and the
hall display's feed (public: ticket numbers and windows only).

The handlers parse, delegate to the Hall provider (services/hall.py) and answer JSON
through shared/hall/schemas.py, which masks ID numbers and mobiles.
"""
import logging

from services.gateway.residents import client_address, refusal
from services.hall import Hall
from services.http import http, json_body, json_response, query_date
from shared.exceptions import InvalidInput, NotFound, TooManyAttempts
from shared.hall import schemas
from shared.hall.tickets import STATUSES
from shared.validation import load

log = logging.getLogger(__name__)

# refused without a traceback in the logs: a resident's wrong credentials, too many tries
RESIDENT_REFUSALS = (NotFound, TooManyAttempts)


def _appointment(view):
    return schemas.dump(schemas.AppointmentSchema, view)


def _ticket(view):
    return schemas.dump(schemas.TicketSchema, view)


class HallEndpoints:
    hall = Hall()

    # -- residents (public) ---------------------------------------------------------------
    @http("GET", "/api/hall/slots")
    def hall_slots(self, request):
        """Bookable slots of this station: ?from=YYYY-MM-DD&days=N&window_type=A."""
        query = load(schemas.SlotsQuerySchema, dict(request.args))
        found = self.hall.slots(query["start"], query["days"], query["window_type"])
        return json_response({"station": self.station.code, "window_types": self.hall.window_types(),
                              "slots": schemas.dump(schemas.SlotSchema, found, many=True)})

    def _optional_user(self, request):
        """The logged-in counter user when the request carries a token, else None (a
        resident). A token that does not open a session is refused (401), not ignored."""
        if request.headers.get("Authorization"):
            return self.users.user(request)
        return None

    @http("POST", "/api/hall/appointments")
    def hall_book(self, request):
        """A resident books a slot (or a counter books one for them)."""
        user = self._optional_user(request)
        try:
            booked = self.hall.book(json_body(request), user, client=client_address(request))
        except TooManyAttempts as refused:
            return refusal(refused)
        return json_response(_appointment(booked), 201)

    def _resident_call(self, request, operation):
        try:
            return json_response(_appointment(operation(json_body(request), client_address(request))))
        except RESIDENT_REFUSALS as refused:
            log.warning("appointment %s refused (%s) from %s", operation.__name__, type(refused).__name__,
                        client_address(request))
            return refusal(refused)

    @http("POST", "/api/hall/appointments/lookup")
    def hall_lookup(self, request):
        return self._resident_call(request, self.hall.lookup)

    @http("POST", "/api/hall/appointments/move")
    def hall_move(self, request):
        return self._resident_call(request, self.hall.move)

    @http("POST", "/api/hall/appointments/cancel")
    def hall_cancel(self, request):
        return self._resident_call(request, self.hall.cancel)

    @http("GET", "/api/hall/display")
    def hall_display(self, request):
        """The hall screen's feed: the last calls and the number waiting (no names)."""
        return json_response(self.hall.display())

    # -- counters -------------------------------------------------------------------------
    @http("GET", "/api/hall/appointments")
    def hall_appointments(self, request):
        """A day's appointments (?day=YYYY-MM-DD, default today; ?status=booked)."""
        user = self.users.user(request)
        found = self.hall.appointments(user, query_date(request, "day"), request.args.get("status"))
        return json_response({"appointments": schemas.dump(schemas.AppointmentSchema, found, many=True)})

    @http("GET", "/api/hall/reminders")
    def hall_reminders(self, request):
        """The next working day's appointments to remind (no SMS channel exists yet)."""
        user = self.users.user(request)
        found = self.hall.reminders_due(user)
        return json_response({"channel": None, "appointments": schemas.dump(schemas.AppointmentSchema, found,
                                                                            many=True)})

    @http("POST", "/api/hall/tickets")
    def hall_issue(self, request):
        user = self.users.user(request)
        return json_response(_ticket(self.hall.issue(json_body(request), user)), 201)

    @http("GET", "/api/hall/tickets")
    def hall_tickets(self, request):
        user = self.users.user(request)
        status = request.args.get("status")
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"query parameter 'status' must be one of {', '.join(STATUSES)}")
        found = self.hall.tickets(user, status, request.args.get("window_type"))
        return json_response({"tickets": schemas.dump(schemas.TicketSchema, found, many=True)})

    @http("GET", "/api/hall/tickets/<int:ticket_id>")
    def hall_ticket(self, request, ticket_id):
        user = self.users.user(request)
        return json_response(_ticket(self.hall.ticket(ticket_id, user)))

    @http("POST", "/api/hall/calls")
    def hall_call(self, request):
        """Call the next ticket of a window type to a window; 404 when nobody waits."""
        user = self.users.user(request)
        return json_response(_ticket(self.hall.call_next(json_body(request), user)))

    @http("POST", "/api/hall/tickets/<int:ticket_id>/recall")
    def hall_recall(self, request, ticket_id):
        user = self.users.user(request)
        return json_response(_ticket(self.hall.recall(ticket_id, user)))

    @http("POST", "/api/hall/tickets/<int:ticket_id>/no-show")
    def hall_no_show(self, request, ticket_id):
        user = self.users.user(request)
        return json_response(_ticket(self.hall.no_show(ticket_id, user)))

    @http("POST", "/api/hall/tickets/<int:ticket_id>/finish")
    def hall_finish(self, request, ticket_id):
        user = self.users.user(request)
        data = json_body(request) if request.get_data() else {}
        return json_response(_ticket(self.hall.finish(ticket_id, data, user)))


# -- the OpenAPI description (services/gateway/openapi.py adds these) ----------------------
def hall_components(spec):
    for name, schema in [("HallBooking", schemas.BookingSchema), ("HallCredentials", schemas.CredentialsSchema),
                         ("HallMove", schemas.MoveSchema), ("HallTicketRequest", schemas.TicketRequestSchema),
                         ("HallCall", schemas.CallSchema), ("HallFinish", schemas.FinishSchema),
                         ("HallAppointment", schemas.AppointmentSchema), ("HallTicket", schemas.TicketSchema),
                         ("HallSlot", schemas.SlotSchema)]:
        spec.components.schema(name, schema=schema)


def hall_paths(op, query, path_param, public):
    """The hall's paths, built with openapi.py's helpers (`op` is its _op)."""
    counters = "counter staff (village agents, township staff, the district's window)"
    ticket = path_param("ticket_id", "a ticket's id")
    credentials = {"booking_no": "Y261204A007", "id_number": "44520319620314004X", "mobile": "13800138000"}
    tag = "hall"
    return {
        "/api/hall/slots": {"get": op(
            "bookable slots (half day x window type) of this station's working days, with places left; `open`: "
            "a resident may book it now", tag=tag, access=public, params=[
                query("from", "first day, YYYY-MM-DD (default: tomorrow)"),
                query("days", "days from `from` (1-62, default 14)", kind="integer"),
                query("window_type", "one window type's letter, e.g. A")])},
        "/api/hall/appointments": {
            "post": op("book an appointment (预约): a resident, or a counter for one (logged in); 409 "
                       "「该时段已约满，请选择其他时段」 when the slot is full, 400 naming why for a day without slots "
                       "(非工作日); 20 tries an hour per address", ok="201", body_ref="HallBooking",
                       answer_ref="HallAppointment", errors=(400, 409, 429), tag=tag, access=public,
                       example={"name": "黄秀英", "id_number": "44520319620314004X", "mobile": "13800138000",
                                "day": "2026-12-04", "half_day": "am", "window_type": "A"}),
            "get": op("a day's appointments at this station", tag=tag, access=counters,
                      answer_ref=None, params=[query("day", "YYYY-MM-DD (default today)"),
                                               query("status", "booked, kept, cancelled or missed")]),
        },
        "/api/hall/appointments/lookup": {"post": op(
            "one's own appointment: booking number, ID number and mobile must all match (an unknown number and a "
            "wrong ID or mobile answer alike); 5 failures per booking number or 30 per address within an hour "
            "answer 429", body_ref="HallCredentials", answer_ref="HallAppointment", errors=(400, 404, 429),
            tag=tag, access=public, example=credentials)},
        "/api/hall/appointments/move": {"post": op(
            "move one's appointment to another half day (same window type, same booking number) until its slot "
            "starts", body_ref="HallMove", answer_ref="HallAppointment", errors=(400, 404, 409, 429), tag=tag,
            access=public, example={**credentials, "day": "2026-12-07", "half_day": "pm"})},
        "/api/hall/appointments/cancel": {"post": op(
            "cancel one's appointment until its slot starts (the place is free again)", body_ref="HallCredentials",
            answer_ref="HallAppointment", errors=(400, 404, 409, 429), tag=tag, access=public, example=credentials)},
        "/api/hall/reminders": {"get": op(
            "the next working day's appointments to remind (no SMS channel exists yet: `channel` is null)",
            tag=tag, errors=(), access=counters)},
        "/api/hall/tickets": {
            "post": op("issue a queue ticket (取号): walk_in, appointment (with booking_no, for today) or priority "
                       "(绿色通道: 70 or older by the ID number, or disabled); real-name; answers people_ahead",
                       ok="201", body_ref="HallTicketRequest", answer_ref="HallTicket", errors=(400, 404, 409),
                       tag=tag, access=counters,
                       example={"kind": "walk_in", "name": "黄秀英", "id_number": "44520319620314004X",
                                "window_type": "A"}),
            "get": op("today's tickets (waiting ones in calling order)", tag=tag, access=counters, params=[
                query("status", "ticket status", STATUSES), query("window_type", "window type letter")]),
        },
        "/api/hall/tickets/{ticket_id}": {"get": op("one ticket with the people ahead of it", params=[ticket],
                                                    answer_ref="HallTicket", errors=(404,), tag=tag,
                                                    access=counters)},
        "/api/hall/calls": {"post": op(
            "call the next ticket of a window type to a window (priority, then appointments, then walk-ins; by "
            "issue time); 404 when nobody waits", body_ref="HallCall", answer_ref="HallTicket",
            errors=(400, 404, 409), tag=tag, access=counters, example={"window_type": "A", "window": "3"})},
        "/api/hall/tickets/{ticket_id}/recall": {"post": op(
            "announce a called ticket again", params=[ticket], answer_ref="HallTicket", errors=(404, 409), tag=tag,
            access=counters)},
        "/api/hall/tickets/{ticket_id}/no-show": {"post": op(
            "a called ticket's holder did not come (过号)", params=[ticket], answer_ref="HallTicket",
            errors=(404, 409), tag=tag, access=counters)},
        "/api/hall/tickets/{ticket_id}/finish": {"post": op(
            "a called ticket is served; optionally the case filed for it", params=[ticket], body_ref="HallFinish",
            answer_ref="HallTicket", errors=(400, 404, 409), tag=tag, access=counters,
            example={"case_no": "445203001001-20261122-00001"})},
        "/api/hall/display": {"get": op(
            "the hall screen's feed: the last 8 calls {ticket_no, window, called_at} and the number waiting per "
            "window type (no names)", errors=(), tag=tag, access=public)},
    }
