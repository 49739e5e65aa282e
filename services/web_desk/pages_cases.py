"""Cases at the desk: the station's list, the filing form, a case with its history and
the forms its user may submit, and the printable result (the notice: pages_notice.py)."""
import uuid

from services.http import http
from services.web_desk import labels
from services.web_desk.base import DeskBase
from services.web_desk.pages_notice import hand_over
from services.web_desk.rendering import REFUSALS, explain, form_of, page, redirect, render, status_of
from services.web_desk.views import decision_form, field_errors, filing_request
from shared.auth import permissions
from shared.cases import schemas, states, views
from shared.exceptions import InvalidInput, NotFound
from shared.materials_files import detection
from shared.stations import DISTRICT

PAGE_SIZE = 50
SCOPES = {"held": {"held_here": True}, "filed": {"filed_here": True}, "all": {}}


def _offset(request):
    try:
        return max(int(request.args.get("offset", 0)), 0)
    except ValueError:
        return 0


def _scans(request, item):
    """(material code, file name, bytes) of each file chosen on the filing form, read up to
    one byte past the per-file limit (the store refuses it then, naming the file)."""
    scans = []
    for material in item["materials"]:
        for upload in request.files.getlist(f"file_{material['code']}"):
            if upload.filename:
                scans.append((material["code"], upload.filename, upload.stream.read(detection.MAX_FILE_BYTES + 1)))
    return scans


class CasePages(DeskBase):
    @http("GET", "/desk/cases")
    @page
    def desk_cases(self, request, user):
        scope = request.args.get("scope") if request.args.get("scope") in SCOPES else "held"
        status = request.args.get("status") if request.args.get("status") in states.LABELS else None
        offset = _offset(request)
        total, rows = self.case_table(user, limit=PAGE_SIZE, offset=offset, status=status, **SCOPES[scope])
        return render("cases.html", **self.desk_context(user), cases=rows, total=total, scope=scope,
                      status=status, offset=offset, page_size=PAGE_SIZE)

    @http("GET", "/desk/cases/new")
    @page
    def desk_filing_form(self, request, user):
        permissions.can_file(user)
        item = self.catalogue.get(request.args.get("item", ""))
        residence = self.station.code if self.station.tier != DISTRICT else ""
        # from a called queue ticket (受理 on /desk/hall): its applicant, and the ticket the case remembers
        prefill = self.ticket_prefill(request.args.get("ticket"), user)  # services/web_desk/pages_hall.py
        return self._filing_form(user, item, {"residence": residence, "materials": [],
                                              "request_id": uuid.uuid4().hex, **prefill})

    @http("POST", "/desk/cases/new")
    @page
    def desk_file_case(self, request, user):
        permissions.can_file(user)  # before the item is looked up: 403, never 404
        # the scans of the materials ride in the form (multipart): at most a case's 50 MB and the fields
        form = form_of(request, limit=detection.MAX_CASE_BYTES + 1024 * 1024)
        item = self.catalogue.get(form.get("item_code", ""))
        data = filing_request(form, item)
        try:
            with self.access_audit.change(user, "file") as change:
                case = self.desk.file(data, user, uploads=_scans(request, item))
                change.case_no = case["case_no"]
        except REFUSALS as error:
            values = {**data, **data["applicant"]}
            errors = field_errors(error) if isinstance(error, InvalidInput) else {}
            return self._filing_form(user, item, values, explain(error), errors, status_of(error))
        # the query code goes to the notice printed next, and nowhere else (pages_notice.py)
        return hand_over(redirect(f"/desk/cases/{case['case_no']}?done=file"), case, self.station.code,
                         self.guard.cookie_flags())

    def _filing_form(self, user, item, values, error=None, errors=None, status=200):
        return render("case_new.html", status, **self.desk_context(user), item=item, values=values,
                      error=error, errors=errors or {}, residences=self._residences())

    def _residences(self):
        """Townships and villages, for the residence field's suggestions."""
        return [s for s in self.station.network.stations.values() if s.tier != DISTRICT]

    @http("GET", "/desk/cases/<string:case_no>")
    @page
    def desk_case(self, request, user, case_no):
        return self.case_page(user, case_no, done=labels.DONE.get(request.args.get("done")))

    def case_page(self, user, case_no, error=None, form=None, status=200, done=None):
        """The case page; after a refused form, with its message and the input kept
        (`form`: {"action": ..., field: value...})."""
        here = self.station.code
        stored = self.desk.get(case_no, user)
        # the API's rule for showing the whole ID number and phone, and auditing it
        case = views.case_view(stored, user, here, self.access_audit.full_view)
        actions = views.available_actions(stored, user, here)
        files = self.material_files.list(case_no, user)  # services/uploads.py: the case's scans here
        return render("case.html", status, **self.desk_context(user), case=case, done=done, files=files,
                      light=self.light_rule()(case), history=self.desk.history(case_no, user),
                      actions=actions, decision=decision_form(actions),
                      decide_note=views.decision_note(stored, user, here, self.users.list()),
                      error=error, form=form or {})

    @http("GET", "/desk/cases/<string:case_no>/result")
    @page
    def desk_case_result(self, request, user, case_no):
        return self._paper(user, case_no, "result", f"办件 {case_no} 尚未作出审批结果")

    def _paper(self, user, case_no, kind, missing):
        """The printable notice or result (template `<kind>.html`): they name the applicant
        but show neither the ID number nor the phone, so the case is masked."""
        case = schemas.masked(self.desk.get(case_no, user))
        if not case.get(kind):
            raise NotFound(missing)
        return render(f"{kind}.html", **self.desk_context(user), case=case, **{kind: case[kind]})
