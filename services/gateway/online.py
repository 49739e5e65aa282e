"""The online hall's JSON API (issue 16), beside the portal's pages
(services/web_desk/pages_portal.py), over the same operations (services/cases/online.py):

* `POST /api/portal/applications` (public): an online application for the counter of
  `counter` (a station that accepts the item; left out: the resident's own station, their
  residence or its nearest ancestor accepting the item): OnlineApplicationSchema's JSON
  (item_code, applicant {name, id_number, phone (a mobile), residence}, code — the SMS code
  asked with POST /api/portal/codes {mobile, purpose: "apply"} — delivery {method,
  address} and counter) with `files`: [{material, filename, content (base64)}]. 201 with
  the case and its query code (shown once); for another station's counter the
  application is sent there (status `submitted` until that counter has filed it).
* `POST /api/portal/applications/<case_no>/materials` (public): the resident's uploads
  after a supplement notice, {query_code, files}; the case number and query code are
  checked like the residents' status lookup (limited attempts).
* `POST /api/cases/<case_no>/pre-review` {answer: pass | pass_online | supplement | refuse,
  materials, reason} and `POST /api/cases/<case_no>/originals` {materials}: the receiving
  counter's answer, and its acceptance with the originals at the resident's visit.
"""
import base64
import binascii

from services.cases import online
from services.gateway.residents import client_address, refusal
from services.http import http, json_body, json_response
from shared.cases import schemas
from shared.exceptions import Conflict, InvalidInput, TooManyAttempts
from shared.materials_files import detection

# the files of a case travel base64-encoded in the JSON body (the API takes JSON only: a
# form of another site cannot post it without asking)
BODY_LIMIT = (detection.MAX_CASE_BYTES + detection.MAX_CASE_BYTES // 2) + 256 * 1024


def _uploads(data, materials):
    """(material, file name, bytes) of the body's `files`: [{material, filename, content
    (base64)}], refused (400) when malformed; the store checks type and size."""
    files = data.pop("files", [])
    if not isinstance(files, list) or len(files) > 50:
        raise InvalidInput("files: a list (at most 50) of {material, filename, content (base64)}")
    uploads = []
    for n, entry in enumerate(files):
        if not isinstance(entry, dict) or not isinstance(entry.get("content"), str):
            raise InvalidInput(f"files[{n}]: {{material, filename, content (base64)}}")
        if entry.get("material") not in materials:
            raise InvalidInput(f"files[{n}].material: one of {', '.join(sorted(materials))}")
        if len(entry["content"]) > (detection.MAX_FILE_BYTES + 2) * 4 // 3 + 4:
            content = b"\0" * (detection.MAX_FILE_BYTES + 1)  # over the limit: the store names it
        else:
            try:
                content = base64.b64decode(entry["content"], validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInput(f"files[{n}].content: base64") from None
        uploads.append((entry["material"], str(entry.get("filename") or entry["material"])[:200], content))
    return uploads


class OnlineApplicationEndpoints:
    @http("POST", "/api/portal/applications")
    def online_application(self, request):
        data = json_body(request, BODY_LIMIT)
        item = self.catalogue.get(str(data.get("item_code", ""))[:16])
        uploads = _uploads(data, {m["code"] for m in item["materials"]})
        case = online.apply(self.desk, data, uploads)
        return json_response({**online.public_view(case), "query_code": case["query_code"],
                              "materials_submitted": case["materials_submitted"]}, 201)

    @http("POST", "/api/portal/applications/<string:case_no>/materials")
    def online_application_materials(self, request, case_no):
        data = json_body(request, BODY_LIMIT)
        try:
            view, held_here = self.resident_view(case_no, str(data.get("query_code", "")), client_address(request))
        except TooManyAttempts as refused:
            return refusal(refused)
        if not held_here:
            raise Conflict(f"case {view['case_no']} is handled at {view['filing_station']}: upload there")
        case = self.desk.find(view["case_no"])
        uploads = _uploads(data, {m["code"] for m in case["item"]["materials"]})
        return json_response(schemas.public_status(online.resubmit(self.desk, view["case_no"], uploads)))

    @http("POST", "/api/cases/<string:case_no>/pre-review")
    def pre_review_answer(self, request, case_no):
        return self._act(request, _named("pre_review", online.answer, self.desk), case_no)

    @http("POST", "/api/cases/<string:case_no>/originals")
    def accept_with_originals(self, request, case_no):
        return self._act(request, _named("accept_with_originals", online.accept_with_originals, self.desk), case_no)


def _named(name, function, desk):
    """operation(case_no, body, user) as CaseEndpoints._act takes it; its name is the
    access audit's (services/access_audit.py)."""
    def operation(case_no, body, user):
        return function(desk, case_no, body, user)
    operation.__name__ = name
    return operation


def online_paths(op, path_param, public):
    """The paths for the OpenAPI document (services/gateway/openapi.py's helpers)."""
    case_no = path_param("case_no", "the case number")
    counters = "counter staff of the station holding the online application"
    files = {"type": "array", "maxItems": 50, "items": {"type": "object", "properties": {
        "material": {"type": "string"}, "filename": {"type": "string"},
        "content": {"type": "string", "format": "byte", "description": "the file, base64"}}}}
    apply = op("apply online for a receiving counter (counter: a station accepting the item; default the "
               "resident's own): item_code, applicant, code (the SMS code "
               "of POST /api/portal/codes with purpose apply), delivery and files (base64); the case number and "
               "query code (shown once) in the answer", ok="201", errors=(400, 404, 409, 413), tag="portal",
               access=public)
    apply["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["item_code", "applicant", "code"],
        "properties": {"item_code": {"type": "string"}, "applicant": {"type": "object"},
                       "counter": {"type": "string", "description": "the receiving counter's station code"},
                       "code": {"type": "string", "pattern": "^\\d{6}$"}, "delivery": {"type": "object"},
                       "files": files}}}}}
    materials = op("the resident's uploads after a supplement notice ({query_code, files}); back to pre-review",
                   errors=(400, 404, 409, 413, 429), tag="portal", access=public)
    materials["parameters"] = [case_no]
    materials["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["query_code", "files"],
        "properties": {"query_code": {"type": "string"}, "files": files}}}}}
    answer = op("answer a pre-review: pass (one visit with the originals), pass_online (全程网办 items: accepted "
                "now), supplement (materials: everything missing, one notice), refuse (reason)",
                errors=(400, 404, 409), access=counters,
                example={"answer": "supplement", "materials": ["M03"], "reason": "缺少银行账户信息"})
    answer["parameters"] = [case_no]
    answer["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    originals = op("accept a case that passed its pre-review, with the originals the resident brought (one visit)",
                   errors=(400, 404, 409), access=counters, example={"materials": ["M01", "M02", "M03"]})
    originals["parameters"] = [case_no]
    originals["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    return {"/api/portal/applications": {"post": apply},
            "/api/portal/applications/{case_no}/materials": {"post": materials},
            "/api/cases/{case_no}/pre-review": {"post": answer},
            "/api/cases/{case_no}/originals": {"post": originals}}
