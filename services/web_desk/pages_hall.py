"""The service hall's pages (issue 17): the counter's queue page (取号、叫号), the printable
queue ticket, the hall's big screen and the residents' appointment pages.

* `/desk/hall` (counter roles): issue a ticket (walk-in, appointment, priority), call the
  next ticket of a window type to a window, recall it, mark a no-show, open the filing
  form from it (受理) and finish it. The window type and window number stay in the query
  string, so each counter's browser keeps its own.
* `/desk/hall/tickets/<id>/print`: the ticket handed to the applicant (80 mm receipt).
* `/desk/hall/display` (public, no login): the hall's screen, rendered here and kept
  current by static/hall-display.js polling /api/hall/display.
* `/portal/appointments` (public): a resident books a half day for a window type with
  their name, ID number and mobile; `/portal/appointments/manage` looks an appointment
  up with the booking number, ID number and mobile (a POST: nothing secret in a URL) and
  moves or cancels it. Failures are counted and limited by the hall itself (the API's
  rules, services/hall.py); beyond the limits the page answers 429 with Retry-After.

Everything is done through the gateway's `hall` dependency (services/hall.py), as the
other pages go through `desk`; the JSON API answers the same (services/gateway/hall.py).
"""
import datetime as dt
import json
import math
import mimetypes
import urllib.parse
from pathlib import Path

from werkzeug.wrappers import Response

from services.gateway.residents import client_address
from services.hall import Hall
from services.http import http
from services.web_desk import labels
from services.web_desk.base import DeskBase
from services.web_desk.rendering import REFUSALS, explain, form_of, page, redirect, render, status_of
from shared.auth import roles
from shared.cases import citizen_id
from shared.clock import DISTRICT_TZ
from shared.exceptions import (
    Forbidden, InvalidInput, NotFound, PasswordChangeRequired, TooManyAttempts, Unauthorized, Unavailable,
)
from shared.hall.schemas import AppointmentSchema, PrintedTicketSchema, TicketSchema, dump
from shared.hall.slots import MAX_DAYS, booking_window

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
# the front-end files installed from npm at set-up (deploy/bootstrap.sh: npm ci in
# static/vendor), served under /desk/static/vendor/<name>; nothing else of node_modules
VENDOR_FILES = {"axe.min.js": VENDOR / "node_modules" / "axe-core" / "axe.min.js",
                "echarts.min.js": VENDOR / "node_modules" / "echarts" / "dist" / "echarts.min.js"}

KINDS = {"walk_in": "现场取号", "appointment": "预约取号", "priority": "绿色通道"}
TICKET_STATES = {"waiting": "等候中", "called": "已叫号", "finished": "已办结", "no_show": "过号未到"}
APPOINTMENT_STATES = {"booked": "已预约", "kept": "已到场取号", "cancelled": "已取消", "missed": "已失约"}
HALF_DAYS = {"am": "上午", "pm": "下午"}
PRIORITY_REASONS = {"elderly": "70岁以上老年人", "disabled": "残疾人"}
WEEKDAYS = "一二三四五六日"
DONE = {
    "issue": "已取号，请打印排队票交给申请人。", "call": "已叫号，大厅显示屏已显示。", "recall": "已重新呼叫。",
    "no_show": "已记为过号未到。", "finish": "已办结该号。", "booked": "预约成功。",
    "moved": "预约已改期。", "cancelled": "预约已取消。",
}
# the hall API's field names, as the forms label them (the case desk's are in labels.FIELDS)
FIELDS = {"mobile": "手机号码", "day": "日期", "half_day": "时段", "window_type": "业务类型",
          "booking_no": "预约号", "window": "窗口号", "kind": "取号类型", "slot": "预约时段"}
FILL_IN = "请填写预约号、身份证号和预约时登记的手机号码。"
NO_MATCH = "未找到与该预约号、身份证号和手机号码相符的预约，请核对后再试。"
NO_ANSWER = "暂时无法办理，请稍后再试。"
CHOOSE_SLOT = "请选择一个预约时段。"
POLL_MS = 3000


def local(value):
    """A UTC time (datetime or ISO text) as 'YYYY-MM-DD HH:MM' in Asia/Shanghai."""
    if not value:
        return "—"
    when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(DISTRICT_TZ).strftime("%Y-%m-%d %H:%M")


def day_label(value):
    """'2026-12-03' -> '12月3日（周四）'."""
    day = dt.date.fromisoformat(str(value)[:10])
    return f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def hall_message(error):
    """A refusal's message, with the hall's field names in Chinese."""
    if isinstance(error, InvalidInput) and error.details:
        return "；".join(f"{FIELDS.get(k, labels.FIELDS.get(k, k))}：{labels.message_of(v)}"
                        for k, v in error.details.items())
    if isinstance(error, InvalidInput):
        field, _, text = error.message.partition(": ")
        name = field.rsplit(".", 1)[-1]
        if text and name in FIELDS:
            return f"{FIELDS[name]}：{labels.message_of(text)}"
    return explain(error)


def too_many(error):
    return f"核对失败次数过多，为保护您的信息，请 {math.ceil(error.retry_after / 60)} 分钟后再试。"


def slot_days(slots):
    """[(day, {"am": slot|None, "pm": slot|None})] in day order, from the API's slot list."""
    days = {}
    for slot in slots:
        free = slot.get("free", slot["capacity"] - slot.get("booked", 0))
        days.setdefault(str(slot["day"])[:10], {"am": None, "pm": None})[slot["half_day"]] = {**slot, "free": free}
    return sorted(days.items())


def split_slot(value):
    """'2026-12-03|am' -> ('2026-12-03', 'am'); None when it is not that shape."""
    day, _, half_day = (value or "").partition("|")
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        return None
    return (day, half_day) if half_day in HALF_DAYS else None


FILTERS = {"local_time": local, "day_label": day_label, "half_day": lambda h: HALF_DAYS.get(h, h),
           "ticket_kind": lambda k: KINDS.get(k, k), "ticket_state": lambda s: TICKET_STATES.get(s, s),
           "appointment_state": lambda s: APPOINTMENT_STATES.get(s, s),
           "priority_reason": lambda r: PRIORITY_REASONS.get(r, r or ""), "mask_id": citizen_id.mask}


def _install_filters():
    from services.web_desk.rendering import environment
    environment.filters.update(FILTERS)


_install_filters()


def _window(value):
    """A window number as typed: 1 to 4 digits or letters (e.g. 3, 12, B2); '' when not."""
    value = (value or "").strip()
    return value if 0 < len(value) <= 4 and value.isalnum() and value.isascii() else ""


class HallCounterPages(DeskBase):
    """The counter's side: the queue page, its forms, and the printable ticket."""

    def window_types(self):
        """[{"code", "name"}] of this station's window types (the hall policy, by tier)."""
        return [{"code": t.code, "name": t.name}
                for t in self.station.network.hall.window_types_for(self.station.tier)]

    def _counter(self, user):
        if user["role"] not in roles.COUNTER_ROLES:
            raise Forbidden("叫号、取号由窗口工作人员操作。")

    def _place(self, source):
        """(window_type, window) chosen on the page (query string or form)."""
        codes = [t["code"] for t in self.window_types()]
        window_type = source.get("window_type", "")
        return (window_type if window_type in codes else (codes[0] if codes else "")), _window(source.get("window"))

    def _hall_url(self, window_type, window, **extra):
        query = {"window_type": window_type, **({"window": window} if window else {}), **extra}
        return "/desk/hall?" + urllib.parse.urlencode(query)

    @http("GET", "/desk/hall")
    @page
    def desk_hall(self, request, user):
        self._counter(user)
        window_type, window = self._place(request.args)
        return self._hall_page(user, window_type, window, done=DONE.get(request.args.get("done")))

    def _hall_page(self, user, window_type, window, error=None, status=200, done=None, values=None):
        types = self.window_types()
        waiting = [_row(t) for t in self.hall.tickets(user, status="waiting")]
        called = [_row(t) for t in self.hall.tickets(user, status="called")]
        mine = [t for t in called if t["window_type"] == window_type and window and str(t.get("window")) == window]
        counts = {t["code"]: 0 for t in types}
        for ticket in waiting:
            counts[ticket["window_type"]] = counts.get(ticket["window_type"], 0) + 1
        return render("hall_counter.html", status, **self.desk_context(user), window_types=types,
                      window_type=window_type, window=window, waiting=[t for t in waiting if t["window_type"] == window_type],
                      counts=counts, mine=mine, others=[t for t in called if t not in mine],
                      appointments=dump(AppointmentSchema, self.hall.appointments(user), many=True),
                      # no SMS channel to residents exists yet: the counter sees whom to remind
                      reminders=dump(AppointmentSchema, self.hall.reminders_due(user), many=True),
                      error=error, done=done, values=values or {"kind": "walk_in", "window_type": window_type})

    @http("POST", "/desk/hall/tickets")
    @page
    def desk_hall_issue(self, request, user):
        self._counter(user)
        form = form_of(request)
        window_type, window = self._place(form)
        data = {"kind": form.get("kind", ""), "name": form.get("name", "").strip(),
                "id_number": form.get("id_number", "").strip().upper(), "window_type": form.get("window_type", "")}
        if form.get("booking_no", "").strip():
            data["booking_no"] = form.get("booking_no", "").strip().upper()
        if form.get("disabled") == "on":
            data["disabled"] = True
        try:
            ticket = self.hall.issue(data, user)
        except REFUSALS as error:
            return self._hall_page(user, window_type, window, error=hall_message(error), status=status_of(error),
                                   values={**data, "disabled": form.get("disabled") == "on"})
        return redirect(f"/desk/hall/tickets/{ticket['id']}/print?"
                        + urllib.parse.urlencode({"done": "issue", "window_type": window_type, "window": window}))

    @http("POST", "/desk/hall/calls")
    @page
    def desk_hall_call(self, request, user):
        self._counter(user)
        form = form_of(request)
        window_type, window = self._place(form)
        if not window:
            return self._hall_page(user, window_type, "", error="请填写本窗口的窗口号（如 3）。", status=400)
        try:
            self.hall.call_next({"window_type": window_type, "window": window}, user)
        except NotFound:
            return self._hall_page(user, window_type, window, error="该业务类型目前没有等候的号。", status=404)
        except REFUSALS as error:
            return self._hall_page(user, window_type, window, error=hall_message(error), status=status_of(error))
        return redirect(self._hall_url(window_type, window, done="call"))

    @http("POST", "/desk/hall/tickets/<int:ticket_id>/<string:action>")
    @page
    def desk_hall_ticket_action(self, request, user, ticket_id, action):
        self._counter(user)
        form = form_of(request)
        window_type, window = self._place(form)
        operations = {"recall": self.hall.recall, "no-show": self.hall.no_show,
                      "finish": lambda ticket, who: self.hall.finish(ticket, {}, who)}
        if action not in operations:
            raise NotFound("没有这个操作。")
        try:
            operations[action](ticket_id, user)
        except REFUSALS as error:
            return self._hall_page(user, window_type, window, error=hall_message(error), status=status_of(error))
        return redirect(self._hall_url(window_type, window, done=action.replace("-", "_")))

    @http("GET", "/desk/hall/tickets/<int:ticket_id>/file")
    @page
    def desk_hall_file_from_ticket(self, request, user, ticket_id):
        """受理: the filing form of the ticket's item (its appointment's), with the ticket's
        applicant filled in; without an item, the catalogue search first, whose item pages
        carry the ticket on to the filing form."""
        self._counter(user)
        ticket = self.hall.ticket(ticket_id, user)
        appointment = self._appointment_of(ticket, user)
        item = appointment.get("item_code") if appointment else None
        if item:
            return redirect("/desk/cases/new?" + urllib.parse.urlencode({"item": item, "ticket": ticket_id}))
        return render("hall_choose_item.html", **self.desk_context(user), ticket=_row(ticket),
                      items=self._item_choices(request.args.get("q", "").strip()), q=request.args.get("q", ""))

    def _item_choices(self, text):
        if not text:
            return []
        _, items = self.catalogue.search(text=text[:100], limit=30, offset=0)
        return items

    def _appointment_of(self, ticket, user):
        """The appointment a ticket was issued from (its item, the resident's mobile), or
        None. (The hall wrapper answers appointments by day: found by its ticket id.)"""
        if not ticket.get("appointment_id"):
            return None
        day = dt.date.fromisoformat(ticket["day"])
        return next((a for a in self.hall.appointments(user, day=day) if a.get("ticket_id") == ticket["id"]), None)

    def ticket_prefill(self, ticket_id, user):
        """The filing form's values from a ticket (`/desk/cases/new?ticket=<id>`): the
        applicant's name and ID number (the counter typed them when issuing it; an
        appointment's mobile too), and the ticket id the filing carries so that the case
        remembers its ticket. {} without a ticket id."""
        if not ticket_id or not str(ticket_id).isdigit():
            return {}
        self._counter(user)
        ticket = self.hall.ticket(int(ticket_id), user)
        values = {"name": ticket["applicant_name"], "id_number": ticket["id_number"],
                  "ticket_id": str(ticket["id"]), "ticket_no": ticket["ticket_no"]}
        appointment = self._appointment_of(ticket, user)
        if appointment:
            values["phone"] = appointment["mobile"]
        return values

    @http("GET", "/desk/hall/tickets/<int:ticket_id>/print")
    @page
    def desk_hall_ticket_print(self, request, user, ticket_id):
        self._counter(user)
        ticket = self.hall.ticket(ticket_id, user)
        appointment = self._appointment_of(ticket, user)
        window_type, window = self._place(request.args)
        printed = {**dump(PrintedTicketSchema, ticket), "status": ticket["status"], "kind": ticket["kind"],
                   "window_type": ticket["window_type"], "priority_reason": ticket["priority_reason"],
                   "booking_no": appointment["booking_no"] if appointment else None}
        return render("hall_ticket.html", **self.desk_context(user), ticket=printed,
                      done=DONE.get(request.args.get("done")), back=self._hall_url(window_type, window))


class HallDisplayPages(DeskBase):
    """The hall's big screen and the front-end files the hall pages use."""

    @http("GET", "/desk/hall/display")
    def desk_hall_display(self, request):
        names = {t.code: t.name for t in self.station.network.hall.window_types_for(self.station.tier)}
        board = self.hall.display()
        latest = board["calls"][0] if board.get("calls") else None
        return render("hall_display.html", station=self.station, board=board, latest=latest, names=names,
                      names_json=json.dumps(names, ensure_ascii=False), poll_ms=POLL_MS)

    @http("GET", "/desk/static/vendor/<string:name>")
    def desk_static_vendor(self, request, name):
        path = VENDOR_FILES.get(name)
        if path is None or not path.is_file():
            return Response("not found (the front-end files are installed by deploy/bootstrap.sh: "
                            "npm ci in services/web_desk/static/vendor)", status=404, mimetype="text/plain")
        return Response(path.read_bytes(), mimetype=mimetypes.guess_type(name)[0] or "application/octet-stream",
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


class AppointmentPages(DeskBase):
    """Residents book, look up, move and cancel appointments, without logging in."""

    def _portal(self, template, status=200, **context):
        names = {t.code: t.name for t in self.station.network.hall.window_types_for(self.station.tier)}
        policy = self.station.network.hall
        hours = {half: "–".join(f"{t.hour}:{t.minute:02d}" for t in policy.half_day_hours(half)) for half in HALF_DAYS}
        return render(template, status, **self.desk_context(None), names=names, hours=hours, **context)

    def _slots(self, window_type):
        """[(day, {"am", "pm"})] bookable from tomorrow on, for this window type."""
        if not window_type:
            return []
        first, last = booking_window(self.catalogue.calendar(), self.station.network.hall, self.today())
        days = min((last - first).days + 1, MAX_DAYS)
        return slot_days(self.hall.slots(first, days, window_type))

    def _item(self, code):
        if not code:
            return None
        try:
            return self.catalogue.get(code)
        except NotFound:
            return None

    @http("GET", "/portal/appointments")
    def portal_appointments(self, request):
        names = {t.code: t.name for t in self.station.network.hall.window_types_for(self.station.tier)}
        window_type = request.args.get("window_type") if request.args.get("window_type") in names else ""
        item = self._item(request.args.get("item", "")[:16])
        return self._booking_page(window_type, item, {})

    def _booking_page(self, window_type, item, values, error=None, status=200):
        return self._portal("appointments.html", status, window_type=window_type, item=item, values=values,
                            days=self._slots(window_type), error=error)

    @http("POST", "/portal/appointments")
    def portal_book(self, request):
        form = form_of(request)
        window_type = form.get("window_type", "")
        item = self._item(form.get("item_code", "")[:16])
        values = {key: form.get(key, "").strip() for key in ("name", "id_number", "mobile", "slot")}
        slot = split_slot(values["slot"])
        if slot is None:
            return self._booking_page(window_type, item, values, CHOOSE_SLOT, 400)
        data = {"name": values["name"], "id_number": values["id_number"].upper(), "mobile": values["mobile"],
                "day": slot[0], "half_day": slot[1], "window_type": window_type}
        if item:
            data["item_code"] = item["code"]
        try:
            clerk = self._counter_user(request)  # a counter booking for a resident is not the online limit's
            appointment = self.hall.book(data, user=clerk, client=None if clerk else client_address(request))
        except TooManyAttempts as error:
            response = self._booking_page(window_type, item, values, too_many(error), 429)
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        except Unavailable:
            return self._booking_page(window_type, item, values, NO_ANSWER, 503)
        except REFUSALS as error:
            return self._booking_page(window_type, item, values, hall_message(error), status_of(error))
        return self._portal("appointments_booked.html", 201, appointment=dump(AppointmentSchema, appointment), item=item,
                            done=DONE["booked"])

    def _counter_user(self, request):
        """The logged-in counter user booking on a resident's behalf (代约), or None."""
        try:
            user = self.users.user(request)
        except (Unauthorized, PasswordChangeRequired):
            return None
        return user if user["role"] in roles.COUNTER_ROLES else None

    @http("GET", "/portal/appointments/manage")
    def portal_manage_form(self, request):
        return self._portal("appointments_manage.html", values={})

    @http("POST", "/portal/appointments/manage")
    def portal_manage_lookup(self, request):
        return self._manage(request, form_of(request), "lookup")

    @http("POST", "/portal/appointments/move")
    def portal_move(self, request):
        return self._manage(request, form_of(request), "move")

    @http("POST", "/portal/appointments/cancel")
    def portal_cancel(self, request):
        return self._manage(request, form_of(request), "cancel")

    def _manage(self, request, form, action):
        values = {key: form.get(key, "").strip().upper() for key in ("booking_no", "id_number", "mobile")}
        if not all(values.values()) or len(values["booking_no"]) > 20:
            return self._portal("appointments_manage.html", 400, values=values, error=FILL_IN)
        data, done, error, status = dict(values), None, None, 200
        if action == "move":
            slot = split_slot(form.get("slot"))
            if slot is None:
                error, status, action = CHOOSE_SLOT, 400, "lookup"
            else:
                data.update(day=slot[0], half_day=slot[1])
        operation = {"lookup": self.hall.lookup, "move": self.hall.move, "cancel": self.hall.cancel}[action]
        try:
            appointment = operation(data, client_address(request))
        except TooManyAttempts as refused:
            response = self._portal("appointments_manage.html", 429, values=values, error=too_many(refused))
            response.headers["Retry-After"] = str(refused.retry_after)
            return response
        except Unavailable:
            return self._portal("appointments_manage.html", 503, values=values, error=NO_ANSWER)
        except NotFound:
            return self._portal("appointments_manage.html", 404, values=values, error=NO_MATCH)
        except REFUSALS as refused:  # a full slot, a slot already started...: shown with the appointment
            error, status = hall_message(refused), status_of(refused)
            try:
                appointment = self.hall.lookup(values, client_address(request))
            except (*REFUSALS, TooManyAttempts, Unavailable):  # a malformed ID number or booking number
                return self._portal("appointments_manage.html", status, values=values, error=error)
        else:
            done = DONE.get({"move": "moved", "cancel": "cancelled"}.get(action))
        days = self._slots(appointment["window_type"]) if appointment.get("status") == "booked" else []
        return self._portal("appointments_manage.html", status, values=values, appointment=dump(AppointmentSchema, appointment),
                            item=self._item(appointment.get("item_code")), days=days, done=done, error=error)


class HallPages(HallCounterPages, HallDisplayPages, AppointmentPages):
    """Every page of the service hall, mixed into the web desk (services/web_desk/pages.py).
    `hall` is the gateway's own (HallEndpoints declares the same provider)."""
    hall = Hall()


def _row(ticket):
    """A ticket as the counter's page lists it: TicketSchema's fields (ID number masked)
    and who called it."""
    return {**dump(TicketSchema, ticket), "called_by": ticket.get("called_by")}
