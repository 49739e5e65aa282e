"""The online service hall (网上办事大厅, issue 16) at /portal/ of every station, and the
counter's pre-review pages.

Residents, without logging in:
* `/portal/` searches the district-wide catalogue (each station holds all of it) and
  marks what can be done online (网上预审 / 全程网办); `/portal/items/<code>` is an item's
  guide with its 在线申请 button.
* `/portal/apply/<code>`: step 1 — name, ID number and mobile, then 获取验证码 (a one-time
  SMS code, shared/notices/one_time_codes.py, purpose `apply`); step 2 — the code, the
  resident's township or village, one file per material (PDF, JPEG, PNG; the store's
  limits) and, for items handled fully online, how the result comes (post or electronic).
  The resident names the receiving counter (受理窗口): any station that accepts the item,
  by default their own (the township or village they live in, or its nearest ancestor
  that accepts the item: shared/cases/online_application.py). The application is filed
  there — at this station's counter directly, at another's through the broker
  (services/online_applications.py) — and the page shows its case number and query code
  once (like a counter's receipt).
* `/portal/case`: the case number and query code open the case (the residents' lookup,
  with its attempt limits: services/gateway/residents.py); a case asked for a supplement
  shows the one notice listing what is missing and takes the uploads (back to pre-review).
* `/portal/display`: large type (大字版) and high contrast (高对比度), kept in a cookie for
  every portal page. No step is timed but the SMS code's 5 minutes.

The counter (a logged-in counter role of this station): `/desk/pre-review` lists the
online applications waiting here (pre-review, supplement, visit with the originals);
`/desk/pre-review/<case_no>` answers a pre-review (pass, pass fully online, supplement,
refuse) or accepts the case with the originals at the resident's visit.
"""
from werkzeug.wrappers import Response

from services.cases import online
from services.gateway.residents import client_address
from services.http import http
from services.web_desk.base import DeskBase
from services.web_desk.pages_cases import _scans
from services.web_desk.rendering import REFUSALS, explain, form_of, page, redirect, render, status_of
from shared.auth import roles
from shared.cases import online_application, pre_review, states
from shared.exceptions import Forbidden, InvalidInput, NotFound, TooManyAttempts, Unavailable
from shared.materials_files import detection

DISPLAY_COOKIE = "tb_display"
DISPLAY_OPTIONS = {"large": "large-type", "contrast": "high-contrast"}
PAGE_SIZE = 40
UPLOAD_LIMIT = detection.MAX_CASE_BYTES + 1024 * 1024
NO_MATCH = "未找到与该受理编号和查询码相符的办件，请核对后再试。"
NO_ANSWER = "暂时无法查询，请稍后再试。"
CODE_SENT = "验证码已发送到您的手机，5分钟内有效。请填写验证码并上传材料（填写本页不限时间，验证码过期可重新获取）。"
WAITING = (states.PRE_REVIEW, states.PRE_REVIEW_SUPPLEMENT, states.PRE_REVIEW_PASSED)
ANSWER_DONE = {"pass": "已答复：预审通过，请申请人携带原件到窗口办理一次。", "pass_online": "已答复：全程网办，已受理。",
               "supplement": "已答复：一次性告知需补正的材料，已短信通知申请人。", "refuse": "已答复：不予受理。"}


def display_classes(request):
    chosen = (request.cookies.get(DISPLAY_COOKIE) or "").split(",")
    return " ".join(cls for key, cls in DISPLAY_OPTIONS.items() if key in chosen)


def _accepting(network, item):
    """The stations that accept the item (any counter of its accepting tiers)."""
    return online_application.accepting_stations(network, item)


class PortalPages(DeskBase):
    """The residents' online hall."""

    def _page(self, request, template, status=200, **context):
        return render(template, status, **self.desk_context(None), display=display_classes(request),
                      display_cookie=request.cookies.get(DISPLAY_COOKIE) or "", here=request.full_path.rstrip("?"),
                      online_labels=pre_review.ONLINE_LABELS, **context)

    @http("GET", "/portal/")
    def portal_home(self, request):
        text = request.args.get("q", "").strip()[:100]
        only_online = request.args.get("online") == "1"
        total, items = self.catalogue.search(text=text or None, limit=500, offset=0)
        items = [i for i in items if i.get("status", "current") == "current"]
        if only_online:
            items = [i for i in items if pre_review.online_mode(i) != "none"]
        online_count = sum(1 for i in items if pre_review.online_mode(i) != "none")
        return self._page(request, "portal_home.html", q=text, items=items[:PAGE_SIZE], shown=min(len(items), PAGE_SIZE),
                          total=len(items), online_count=online_count, only_online=only_online)

    @http("GET", "/portal/items/<string:code>")
    def portal_item(self, request, code):
        item = self._item(code)
        if item is None:
            return self._page(request, "portal_home.html", 404, q="", items=[], shown=0, total=0, online_count=0,
                              only_online=False, error="没有这个事项。")
        return self._page(request, "portal_item.html", item=item, mode=pre_review.online_mode(item),
                          counters=_accepting(self.station.network, item))

    def _item(self, code):
        try:
            item = self.catalogue.get(code[:16])
        except NotFound:
            return None
        return item if item.get("status", "current") == "current" else None

    # -- applying ------------------------------------------------------------------------
    def _apply_page(self, request, item, values, status=200, step=1, **context):
        return self._page(request, "portal_apply.html", status, item=item, values=values, step=step,
                          mode=pre_review.online_mode(item), residences=self._residences(),
                          counters=_accepting(self.station.network, item), **context)

    def _residences(self):
        return [s for s in self.station.network.stations.values() if s.tier in ("township", "village")]

    def _online_item(self, request, code):
        item = self._item(code)
        if item is None or pre_review.online_mode(item) == "none":
            raise NotFound("该事项不受理网上申请，请到窗口办理。")
        return item

    @http("GET", "/portal/apply/<string:code>")
    def portal_apply_form(self, request, code):
        try:
            item = self._online_item(request, code)
        except NotFound as refused:
            return self._page(request, "portal_home.html", 404, q="", items=[], shown=0, total=0, online_count=0,
                              only_online=False, error=refused.message)
        return self._apply_page(request, item, {})

    @http("POST", "/portal/apply/<string:code>/code")
    def portal_apply_code(self, request, code):
        """Step 1 done: send the one-time code to the mobile; the form's step 2."""
        form = form_of(request)
        item = self._online_item(request, code)
        values = {key: form.get(key, "").strip() for key in ("name", "id_number", "mobile")}
        values["id_number"] = values["id_number"].upper()
        missing = [label for key, label in (("name", "姓名"), ("id_number", "身份证号"), ("mobile", "手机号码"))
                   if not values[key]]
        if missing:
            return self._apply_page(request, item, values, 400, error="请填写" + "、".join(missing) + "。")
        if not pre_review.is_mobile(values["mobile"]):
            return self._apply_page(request, item, values, 400, error="请填写11位手机号码，用于接收验证码和办理通知。")
        try:
            self.notices.ask_code(values["mobile"], online.CODE_PURPOSE, client_address(request))
        except TooManyAttempts as refused:
            response = self._apply_page(request, item, values, 429,
                                        error=f"获取验证码过于频繁，请 {refused.retry_after} 秒后再试。")
            response.headers["Retry-After"] = str(refused.retry_after)
            return response
        return self._apply_page(request, item, values, step=2, done=CODE_SENT)

    @http("POST", "/portal/apply/<string:code>")
    def portal_apply(self, request, code):
        form = form_of(request, limit=UPLOAD_LIMIT)
        item = self._online_item(request, code)
        values = {key: form.get(key, "").strip() for key in ("name", "id_number", "mobile", "code", "residence",
                                                              "counter", "delivery", "address")}
        values["id_number"] = values["id_number"].upper()
        data = {"item_code": item["code"], "code": values["code"],
                "applicant": {"name": values["name"], "id_number": values["id_number"], "phone": values["mobile"],
                              "residence": values["residence"]},
                "delivery": {"method": values["delivery"] or "counter", "address": values["address"]},
                "counter": values["counter"]}
        try:
            case = online.apply(self.desk, data, _scans(request, item))
        except REFUSALS as refused:
            return self._apply_page(request, item, values, status_of(refused), step=2, error=explain(refused))
        return self._page(request, "portal_applied.html", 201, case=case, item=item,
                          counter=self.station.network.stations[case["filing_station"]],
                          uploaded=[m for m in item["materials"] if m["code"] in case["materials_submitted"]])

    # -- the resident's case -------------------------------------------------------------------
    @http("GET", "/portal/case")
    def portal_case_form(self, request):
        return self._page(request, "portal_case.html", values={})

    @http("POST", "/portal/case")
    def portal_case(self, request):
        return self._case_page(request, form_of(request, limit=UPLOAD_LIMIT))

    def _case_page(self, request, form):
        values = {"case_no": form.get("case_no", "").strip()[:40], "query_code": form.get("query_code", "").strip()[:40]}
        if not values["case_no"] or not values["query_code"]:
            return self._page(request, "portal_case.html", 400, values=values, error="请填写受理编号和查询码。")
        try:
            view, held_here = self.resident_view(values["case_no"], values["query_code"], client_address(request))
        except TooManyAttempts as refused:
            response = self._page(request, "portal_case.html", 429, values=values,
                                  error=f"查询过于频繁，请 {refused.retry_after} 秒后再试。")
            response.headers["Retry-After"] = str(refused.retry_after)
            return response
        except Unavailable:
            return self._page(request, "portal_case.html", 503, values=values, error=NO_ANSWER)
        except NotFound:
            return self._page(request, "portal_case.html", 404, values=values, error=NO_MATCH)
        case = self.desk.find(view["case_no"]) if held_here else None
        done, error, status = None, None, 200
        if case is not None and form.get("upload") == "1":
            try:
                case = online.resubmit(self.desk, case["case_no"], _scans(request, case["item"]))
                view, _ = self.resident_view(values["case_no"], values["query_code"], client_address(request))
                done = "材料已补传，等待窗口重新预审。"
            except REFUSALS as refused:
                error, status = explain(refused), status_of(refused)
        wanted = []
        if case is not None and case["status"] == states.PRE_REVIEW_SUPPLEMENT:
            codes = set(case["pre_review"]["answers"][-1].get("missing") or ())
            wanted = [m for m in case["item"]["materials"] if m["code"] in codes]
        return self._page(request, "portal_case.html", status, values=values, view=view, case=case, wanted=wanted,
                          counter=self.station.network.stations.get(view.get("filing_station")),
                          visits=pre_review.visits_of(case) if case else None, done=done, error=error)

    # -- display options ---------------------------------------------------------------------
    @http("POST", "/portal/display")
    def portal_display(self, request):
        form = form_of(request)
        chosen = [key for key in DISPLAY_OPTIONS if form.get(key) == "1"]
        back = form.get("back", "/portal/")
        if not back.startswith("/portal/") or "//" in back or "\\" in back:
            back = "/portal/"
        response = redirect(back)
        if chosen:
            response.set_cookie(DISPLAY_COOKIE, ",".join(chosen), max_age=365 * 24 * 3600, path="/",
                                samesite="Lax", httponly=True)
        else:
            response.delete_cookie(DISPLAY_COOKIE, path="/")
        return response


class PreReviewPages(DeskBase):
    """The receiving counter's side of the online hall."""

    @http("GET", "/desk/pre-review")
    @page
    def desk_pre_review_list(self, request, user):
        if user["role"] not in roles.COUNTER_ROLES:
            raise Forbidden("只有窗口人员处理网上申请")
        sections = []
        for status in WAITING:
            _, rows = self.case_table(user, limit=200, status=status, held_here=True)
            sections.append((status, states.LABELS[status], rows))
        return render("portal_desk_list.html", **self.desk_context(user), sections=sections)

    @http("GET", "/desk/pre-review/<string:case_no>")
    @page
    def desk_pre_review(self, request, user, case_no):
        return self._review_page(user, self.desk.get(case_no, user))

    def _review_page(self, user, case, status=200, **context):
        if user["role"] not in roles.COUNTER_ROLES:
            raise Forbidden("只有窗口人员处理网上申请")
        files = self.material_files.list(case["case_no"], user)
        return render("portal_desk_case.html", status, **self.desk_context(user), case=case, files=files,
                      answers=pre_review.ANSWER_LABELS, visits=pre_review.visits_of(case),
                      status_label=states.LABELS.get(case["status"], case["status"]),
                      online_mode=(case.get("online") or {}).get("mode"), **context)

    @http("POST", "/desk/pre-review/<string:case_no>")
    @page
    def desk_pre_review_answer(self, request, user, case_no):
        form = form_of(request)
        action = form.get("action", "")
        try:
            if action == "originals":
                case = online.accept_with_originals(self.desk, case_no, {"materials": form.getlist("materials")}, user)
                done = "已核验原件并受理（申请人跑动 1 次）。" if case.get("accepted_at") else "原件不齐，已出具一次性告知书。"
            else:
                data = {"answer": form.get("answer", ""), "materials": form.getlist("materials"),
                        "reason": form.get("reason", "").strip()}
                case = online.answer(self.desk, case_no, data, user)
                done = ANSWER_DONE.get(data["answer"])
        except REFUSALS as refused:
            return self._review_page(user, self.desk.get(case_no, user), status_of(refused), error=explain(refused))
        return self._review_page(user, case, done=done)
