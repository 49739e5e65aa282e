"""The catalogue administrator's pages at the district's web desk (系统管理 › 事项目录):

    GET  /desk/admin/items?q=&department=&status=all&offset=   search (status=all: retired ones too)
    GET  /desk/admin/items/new, POST (step=preview|save)          add an item
    GET  /desk/admin/items/<code>                    the item, its delegation and retirement
    GET  /desk/admin/items/<code>/edit, POST (step=preview|save)  edit it
    POST /desk/admin/items/<code>/delegate (step=preview|save)    下放 to townships or villages
    POST /desk/admin/items/<code>/retire (step=preview|save)      retire it
    GET  /desk/admin/calendar, POST (step=preview|save)           publish a year's holidays
    GET  /desk/admin/catalogue/history?item=&kind=&offset=        every version, what it changed

Administrators only (a 403 page otherwise). Every change is shown first as a preview:
the catalogue's editor runs it in a transaction that is rolled back, so the preview
names exactly the new version number and the fields that change, and a refusal is
the one saving would give, next to its field in Chinese. Saving needs the body that was
previewed (its digest); the save goes through the API's own path (CatalogueDesk:
validated again, one version, the event to every station)."""
import datetime as dt
import urllib.parse
from contextlib import contextmanager

from services.http import http, query_int
from services.web_desk import admin_forms as forms
from services.web_desk.base import DeskBase
from services.web_desk.rendering import form_of, page, redirect, render
from shared.auth import permissions
from shared.auth.roles import signed
from shared.catalogue.editing import CatalogueEditor
from shared.catalogue.history import change_preview, history_page
from shared.catalogue.store import CatalogueStore
from shared.exceptions import Conflict, InvalidInput, NotFound
from shared.stations import TIER_RANK, TIERS

PAGE_SIZE = 30
ITEMS = "/desk/admin/items"
CALENDAR = "/desk/admin/calendar"
HISTORY = "/desk/admin/catalogue/history"
DONE = {"add": "事项已新增", "edit": "事项已修改", "delegate": "事项已下放", "retire": "事项已取消",
        "calendar": "节假日安排已发布"}
CHANGED_SINCE_PREVIEW = "提交的内容与预览时不同（或目录已由他人修改），请核对新的预览后再保存。"


class _DryRun(Exception):
    def __init__(self, preview):
        super().__init__("dry run")
        self.preview = preview


def _now():
    return dt.datetime.now().astimezone()


class CatalogueAdminPages(DeskBase):
    """Mixed into the district's gateway, which has `catalogue_desk` (CatalogueEditing)."""

    # -- helpers ------------------------------------------------------------------------------
    @contextmanager
    def _admin_change(self, user, action):
        with self.access_audit.change(user, action):  # recorded, made or refused
            permissions.can_edit_catalogue(user)
            yield signed(user)

    def _dry_run(self, operation, *args, before_of=None):
        """The change `operation` would make now, as a preview; nothing is kept."""
        desk = self.catalogue_desk
        try:
            with desk.database.transaction() as session:
                store = CatalogueStore(session)
                before = before_of(store) if before_of else None
                change = getattr(CatalogueEditor(store, desk.departments, _now), operation)(*args)
                raise _DryRun(change_preview(change, before))
        except _DryRun as dry:
            return dry.preview

    def _context(self, user, **extra):
        return self.desk_context(user, labels=forms.ITEM_LABELS, shown=forms.shown,
                                 departments=self.station.network.departments, tiers=TIERS, **extra)

    def _done(self, request):
        kind, version = request.args.get("done"), request.args.get("version", "")
        if kind in DONE:
            return DONE[kind] + (f"，事项目录现为第 {version} 版。" if version.isdigit() else "。")
        return None

    # -- search -------------------------------------------------------------------------------
    @http("GET", ITEMS)
    @page
    def admin_items(self, request, user):
        permissions.can_edit_catalogue(user)
        text = request.args.get("q", "").strip()[:100]
        status = "all" if request.args.get("status") == "all" else "current"
        department = request.args.get("department") or None
        if department and department not in self.station.network.departments:
            department = None
        offset = query_int(request, "offset", 0, 0, 1_000_000)
        total, items = self.catalogue.search(text=text or None, department=department,
                                             include_retired=status == "all", limit=PAGE_SIZE, offset=offset)
        query = urllib.parse.urlencode({k: v for k, v in (("q", text), ("status", status),
                                                           ("department", department or "")) if v})
        return render("admin_items.html", **self._context(user), items=items, total=total, offset=offset,
                      page_size=PAGE_SIZE, q=text, status=status, department=department or "", query=query,
                      version=self.catalogue.version())

    # -- add and edit -------------------------------------------------------------------------
    @http("GET", f"{ITEMS}/new")
    @page
    def admin_item_new(self, request, user):
        permissions.can_edit_catalogue(user)
        return self._item_form(user, None, forms.new_item_values())

    @http("POST", f"{ITEMS}/new")
    @page
    def admin_item_add(self, request, user):
        permissions.can_edit_catalogue(user)
        return self._submit_item(request, user, None)

    @http("GET", f"{ITEMS}/<string:code>/edit")
    @page
    def admin_item_edit_form(self, request, user, code):
        permissions.can_edit_catalogue(user)
        item = self.catalogue.get(code)
        if item["status"] == "retired":
            raise Conflict(f"事项 {code} 已取消，不能再修改。")
        return self._item_form(user, item, forms.item_form_values(item))

    @http("POST", f"{ITEMS}/<string:code>/edit")
    @page
    def admin_item_edit(self, request, user, code):
        permissions.can_edit_catalogue(user)
        return self._submit_item(request, user, self.catalogue.get(code))

    def _item_form(self, user, item, values, status=200, errors=None, preview=None, body_digest="", note=None):
        return render("admin_item_form.html", status, **self._context(
            user, error=note or (errors or {}).get("")), item=item, values=values, errors=errors or {},
            preview=preview, digest=body_digest, step_choices=forms.STEP_CHOICES,
            material_labels=forms.MATERIAL_FIELDS, guide_labels=forms.GUIDE_FIELDS)

    def _submit_item(self, request, user, item):
        form = form_of(request)
        body = forms.item_from_form(form)
        if item is not None:
            body["code"] = item["code"]  # an item's code cannot be changed
        values = forms.item_form_values(body)
        operation = ("add", body) if item is None else ("edit", item["code"], body)
        before_of = None if item is None else (lambda store: store.get(item["code"]))
        body_digest = forms.digest({"body": body, "version": item and item["version"]})
        note = None
        if form.get("step") == "save":
            if form.get("digest") == body_digest:
                try:
                    with self._admin_change(user, f"{operation[0]}_item") as editor:
                        change = getattr(self.catalogue_desk, operation[0])(*operation[1:], editor)
                except (InvalidInput, Conflict) as refused:
                    return self._item_form(user, item, values, 400, forms.error_fields(refused, forms.ITEM_LABELS))
                return redirect(f"{ITEMS}/{change['item_code']}?done={operation[0]}&version={change['version']}")
            note = CHANGED_SINCE_PREVIEW
        try:
            preview = self._dry_run(*operation, signed(user), before_of=before_of)
        except (InvalidInput, Conflict) as refused:
            return self._item_form(user, item, values, 400, forms.error_fields(refused, forms.ITEM_LABELS))
        return self._item_form(user, item, values, preview=preview, body_digest=body_digest, note=note)

    # -- one item: delegate, retire -----------------------------------------------------------
    @http("GET", f"{ITEMS}/<string:code>")
    @page
    def admin_item(self, request, user, code):
        permissions.can_edit_catalogue(user)
        item = self.catalogue.get(code)
        with self.catalogue.database.reading() as session:
            changes, history = history_page(session, item_code=code, limit=10)
        lower = [t for t in TIERS if TIER_RANK[t] > TIER_RANK[item["authority_tier"]]]
        return render("admin_item.html", **self._context(user, done=self._done(request)), item=item,
                      lower_tiers=lower, history=history, history_total=changes,
                      kind_names=forms.KIND_NAMES)

    @http("POST", f"{ITEMS}/<string:code>/delegate")
    @page
    def admin_item_delegate(self, request, user, code):
        permissions.can_edit_catalogue(user)
        form = form_of(request)
        body = {"authority_tier": form.get("authority_tier") or None}
        return self._confirm(request, user, code, "delegate", (code, body), body)

    @http("POST", f"{ITEMS}/<string:code>/retire")
    @page
    def admin_item_retire(self, request, user, code):
        permissions.can_edit_catalogue(user)
        return self._confirm(request, user, code, "retire", (code,), {})

    def _confirm(self, request, user, code, kind, args, fields):
        """Delegation and retirement: a preview to confirm, then the change."""
        form = form_of(request)
        item = self.catalogue.get(code)
        body_digest = forms.digest({"kind": kind, "body": fields, "version": item["version"]})
        if form.get("step") == "save" and form.get("digest") == body_digest:
            with self._admin_change(user, f"{kind}_item") as editor:
                change = getattr(self.catalogue_desk, kind)(*args, editor)
            return redirect(f"{ITEMS}/{code}?done={kind}&version={change['version']}")
        note = CHANGED_SINCE_PREVIEW if form.get("step") == "save" else None
        preview = self._dry_run(kind, *args, signed(user), before_of=lambda store: store.get(code))
        return render("admin_confirm.html", **self._context(user, error=note), item=item, kind=kind,
                      kind_name=forms.KIND_NAMES[kind], preview=preview, fields=fields, digest=body_digest,
                      action=f"{ITEMS}/{code}/{kind}")

    # -- the calendar -------------------------------------------------------------------------
    @http("GET", CALENDAR)
    @page
    def admin_calendar(self, request, user):
        permissions.can_edit_catalogue(user)
        year = self.today().year + 1
        return self._calendar_page(user, {"year": year, "holidays": [], "workdays": []}, done=self._done(request))

    def _calendar_page(self, user, values, status=200, errors=None, preview=None, body_digest="", note=None,
                       done=None):
        with self.catalogue.database.reading() as session:
            schedules = CatalogueStore(session).schedules()
        return render("admin_calendar.html", status, **self._context(
            user, error=note or (errors or {}).get(""), done=done), values=values, errors=errors or {},
            preview=preview, digest=body_digest, schedules=schedules)

    @http("POST", CALENDAR)
    @page
    def admin_calendar_publish(self, request, user):
        permissions.can_edit_catalogue(user)
        form = form_of(request)
        body = forms.schedule_from_form(form)
        body_digest = forms.digest(body)
        note = None
        if form.get("step") == "save":
            if form.get("digest") == body_digest:
                try:
                    with self._admin_change(user, "publish_calendar") as editor:
                        change = self.catalogue_desk.publish_schedule(body, editor)
                except InvalidInput as refused:
                    return self._calendar_page(user, body, 400, forms.schedule_error_fields(refused, body))
                return redirect(f"{CALENDAR}?done=calendar&version={change['version']}")
            note = CHANGED_SINCE_PREVIEW

        def same_year(store):
            return next((s for s in store.schedules() if s["year"] == body["year"]), None)
        try:
            preview = self._dry_run("publish_schedule", body, signed(user), before_of=same_year)
        except InvalidInput as refused:
            return self._calendar_page(user, body, 400, forms.schedule_error_fields(refused, body))
        return self._calendar_page(user, body, preview=preview, body_digest=body_digest, note=note)

    # -- the catalogue's history --------------------------------------------------------------
    @http("GET", HISTORY)
    @page
    def admin_catalogue_history(self, request, user):
        permissions.can_edit_catalogue(user)
        code = request.args.get("item", "").strip()[:16] or None
        kind = request.args.get("kind") or None
        if kind is not None and kind not in forms.KIND_NAMES:
            raise InvalidInput("请选择列表中的变更类型。")
        offset = query_int(request, "offset", 0, 0, 10_000_000)
        with self.catalogue.database.reading() as session:
            total, entries = history_page(session, item_code=code, kind=kind, limit=PAGE_SIZE, offset=offset)
        if code and not total:
            raise NotFound(f"事项目录中没有编码为 {code} 的事项变更记录。")
        query = urllib.parse.urlencode({k: v for k, v in (("item", code), ("kind", kind)) if v})
        return render("admin_history.html", **self._context(user), entries=entries, total=total, offset=offset,
                      page_size=PAGE_SIZE, item_code=code or "", kind=kind or "", kind_names=forms.KIND_NAMES,
                      query=query)
