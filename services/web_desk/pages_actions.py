"""The forms of the case page. Each POST calls the case desk and redirects to the case
page (so a reload repeats nothing); a refused form shows the case page again with the
message and what was typed."""
from services.http import http
from services.web_desk.base import DeskBase
from services.web_desk.rendering import REFUSALS, explain, form_of, page, redirect, status_of
from shared.exceptions import NotFound


def _text(form, name):
    return form.get(name, "").strip()


def _whole(value):
    """A whole number, or the text as typed (the desk's schema refuses it by name)."""
    return int(value) if value is not None and value.strip().isdigit() else value


# action in the URL -> (CaseDesk method, the request body from the form)
FORMS = {
    "supplement": ("supplement", lambda f: {"materials": f.getlist("materials")}),
    "return": ("return_case", lambda f: {"reason": _text(f, "reason")}),
    "forward": ("forward", lambda f: {"note": _text(f, "note")}),
    "decide": ("decide", lambda f: {"step": f.get("step", ""), "outcome": f.get("outcome", ""),
                                    "department": f.get("department", ""), "reason": _text(f, "reason")}),
    "suspend": ("suspend", lambda f: {"materials": f.getlist("materials"), "reason": _text(f, "reason")}),
    "extension": ("request_extension", lambda f: {"days": _whole(f.get("days")), "reason": _text(f, "reason")}),
    "extension_decision": ("decide_extension", lambda f: {"granted": f.get("granted") == "yes",
                                                          "reason": _text(f, "reason")}),
    "deliver": ("deliver", lambda f: {}),
    "rate": ("rate", lambda f: {"score": _whole(f.get("score")), "comment": _text(f, "comment")}),
}


class CaseActionPages(DeskBase):
    @http("POST", "/desk/cases/<string:case_no>/<string:action>")
    @page
    def desk_case_action(self, request, user, case_no, action):
        if action not in FORMS:
            raise NotFound(f"没有“{action}”这项操作")
        method, body = FORMS[action]
        form = form_of(request)
        try:
            with self.access_audit.change(user, method, case_no):
                getattr(self.desk, method)(case_no, body(form), user)
        except REFUSALS as error:
            typed = {key: form.getlist(key) if key == "materials" else form.get(key) for key in form.keys()}
            return self.case_page(user, case_no, error=explain(error), status=status_of(error),
                                  form={**typed, "action": action})
        return redirect(f"/desk/cases/{case_no}?done={action}")
