"""The OpenAPI 3 document of a station's HTTP API, generated from the marshmallow schemas
the handlers validate with (apispec)."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.gateway.bundles import bundle_paths
from services.gateway.hall import hall_components, hall_paths
from services.gateway.portal_codes import code_components, code_paths
from services.gateway.uploads import upload_paths
from services.gateway.online import online_paths
from shared.auth import schemas as auth_schemas
from shared.cases import schemas as case_schemas
from shared.cases import views as case_views
from shared.catalogue import schemas as catalogue_schemas
from shared.catalogue.schemas import CATEGORIES, PROCESSING_TYPES
from shared.ratings import appeals as rating_appeals
from shared.ratings import rectification as rating_orders
from shared.ratings import schemas as rating_schemas
from shared.cases.states import LABELS
from shared.stations import TIERS

ERROR = {"$ref": "#/components/schemas/Error"}
OBJECT = {"type": "object", "additionalProperties": True}

FILING_EXAMPLE = {
    "item_code": "MZ-002",
    "applicant": {"name": "黄秀英", "id_number": "44520319620314004X", "phone": "13800138000",
                  "residence": "445203001001"},
    "materials": ["M01", "M02", "M03", "M04"],
    "deficiency_promise": True,
    "request_id": "3f2a9c1e-7b4d-4e8a-9c0f-1d2e3f4a5b6c",
}


def _json(schema=None, example=None, ref=None):
    content = {"schema": {"$ref": f"#/components/schemas/{ref}"} if ref else (schema or OBJECT)}
    if example is not None:
        content["example"] = example
    return {"content": {"application/json": content}}


def _errors(*codes):
    names = {400: "bad input (the message names each problem)", 401: "not logged in", 403: "not allowed",
             404: "not found", 409: "not allowed in the current state",
             413: "too large (a file over 10 MB, or a case's files over 50 MB)",
             415: "the body is not application/json",
             429: "too many failed attempts (Retry-After says when to try again)",
             503: "not available right now; try again in a moment"}
    return {str(c): {"description": names[c], **_json(ERROR)} for c in codes}


PUBLIC = "public"


def _op(summary, ok="200", body_ref=None, example=None, params=(), errors=(400,), tag="cases", access=None,
        answer_ref=None):
    """`access`: PUBLIC for what anyone may call; otherwise a note of who may (a logged-in
    user of this station is always needed: 401 without one, 403 for the wrong role).
    `answer_ref`: the component the answer is (else any JSON object)."""
    if access != PUBLIC:
        errors = tuple(sorted({*errors, 401, 403}))
        summary = f"{summary} — {access}" if access else summary
    operation = {"summary": summary, "tags": [tag],
                 "responses": {ok: {"description": "OK", **_json(ref=answer_ref)}, **_errors(*errors)}}
    if access == PUBLIC:
        operation["security"] = []
    if body_ref:  # JSON only: any other body answers 415 (services/http.py)
        operation["requestBody"] = {"required": True, **_json(ref=body_ref, example=example)}
        operation["responses"].update(_errors(415))
    if params:
        operation["parameters"] = list(params)
    return operation


def _path_param(name, description):
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "maxLength": 40}}


def _query(name, description, enum=None, kind="string"):
    schema = {"type": kind}
    if enum:
        schema["enum"] = list(enum)
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


# the lists answer {total, limit, offset, <rows>}
PAGE = [_query("limit", "page size (1-500)", kind="integer"), _query("offset", "page start", kind="integer")]
CASE_NO = _path_param("case_no", "case number, e.g. 445203001001-20261122-00001")
ITEM_CODE = _path_param("code", "item code, e.g. MZ-002")


def build_spec(is_district):
    spec = APISpec(title="Tongban station API（通办站点接口）", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "The HTTP API every station serves; the district also edits "
                                        "the catalogue and supervises deadlines. Log in with POST /api/login "
                                        "and send the token as `Authorization: Bearer <token>`."},
                   security=[{"session": []}])
    spec.components.security_scheme("session", {"type": "http", "scheme": "bearer",
                                                "description": "the token POST /api/login answers"})
    spec.components.schema("Error", {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string", "example": "INVALID_INPUT"},
        "message": {"type": "string", "example": "applicant.id_number: the check digit is wrong (GB 11643)"},
        "details": {"type": "object"}}})
    spec.components.schema("CaseActions", schema=case_views.ActionsSchema)
    # a case's answer: the snapshot (ID number and phone masked unless the user acts on it
    # here), what the user may do with it now, and (GET) its history
    spec.components.schema("Case", {"type": "object", "additionalProperties": True, "properties": {
        "case_no": {"type": "string"}, "status": {"type": "string", "enum": list(LABELS)},
        "actions": {"$ref": "#/components/schemas/CaseActions"},
        "history": {"type": "array", "items": OBJECT, "description": "GET /api/cases/{case_no} only"}}})
    for name, schema in [("Filing", case_schemas.FilingSchema), ("Supplement", case_schemas.SupplementSchema),
                         ("Decision", case_schemas.DecisionSchema), ("Return", case_schemas.ReturnSchema),
                         ("Delivery", case_schemas.DeliverySchema), ("Suspend", case_schemas.SuspendSchema),
                         ("ExtensionRequest", case_schemas.ExtensionRequestSchema),
                         ("ExtensionDecision", case_schemas.ExtensionDecisionSchema),
                         ("Rating", case_schemas.RatingSchema), ("ResidentRating", case_schemas.ResidentRatingSchema),
                         ("ResidentQuery", case_schemas.ResidentQuerySchema),
                         ("Item", catalogue_schemas.ItemSchema),
                         ("Delegation", catalogue_schemas.DelegationSchema),
                         ("Schedule", catalogue_schemas.ScheduleSchema),
                         ("Forward", case_schemas.ForwardSchema),
                         ("FollowUpAnswer", case_schemas.FollowUpAnswerSchema),
                         ("RectificationAction", rating_schemas.ActionSchema),
                         ("RectificationFollowUp", rating_schemas.FollowUpSchema),
                         ("RectificationRating", rating_schemas.ResidentLevelSchema),
                         ("RatingAppeal", rating_schemas.AppealSchema),
                         ("RatingAppealDecision", rating_schemas.AppealDecisionSchema),
                         ("Login", auth_schemas.LoginSchema), ("NewUser", auth_schemas.NewUserSchema),
                         ("PasswordChange", auth_schemas.PasswordChangeSchema)]:
        spec.components.schema(name, schema=schema)

    paths = {
        "/api/health": {"get": _op("station, catalogue version, broker link", errors=(), tag="station",
                                   access=PUBLIC)},
        "/api/login": {"post": _op("log in: a session token for this station", body_ref="Login", tag="users",
                                   errors=(400, 401), access=PUBLIC,
                                   example={"username": "agent", "password": "tongban-2026"})},
        "/api/logout": {"post": _op("end this session", errors=(), tag="users", access=PUBLIC)},
        "/api/me": {"get": _op("the logged-in user", errors=(), tag="users")},
        "/api/me/password": {"post": _op(
            "change one's own password (at least 10 characters, not easy to guess); the user's other sessions "
            "end. A user whose password was chosen for them (the sample staff) gets 403 PASSWORD_CHANGE_REQUIRED "
            "from every other call until they have", body_ref="PasswordChange", tag="users",
            example={"current_password": "tongban-2026", "new_password": "请设置自己的密码"})},
        "/api/me/sessions": {"get": _op("one's own open sessions (no tokens; `current` marks this one)",
                                        errors=(), tag="users")},
        "/api/me/sessions/{session_id}": {"delete": _op(
            "end one of one's own sessions", tag="users", errors=(404,),
            params=[_path_param("session_id", "a session's id from GET /api/me/sessions")])},
        "/api/me/sessions/end-others": {"post": _op("end every other session of one's own", errors=(),
                                                    tag="users")},
        "/api/users/{username}/unlock": {"post": _op(
            "forget a username's failed logins, ending its lockout", tag="users", errors=(404,),
            access="administrators", params=[_path_param("username", "the user's username")])},
        "/api/users": {
            "get": _op("this station's users", errors=(), tag="users", access="administrators"),
            "post": _op("add a user", ok="201", body_ref="NewUser", errors=(400, 409), tag="users",
                        access="administrators",
                        example={"username": "chenxy", "name": "陈晓燕", "role": "village_agent",
                                 "password": "请设置至少8位密码"}),
        },
        "/api/catalogue": {"get": _op("catalogue version and content hash", errors=(), tag="catalogue",
                                      access=PUBLIC)},
        "/api/items": {"get": _op("search the catalogue", tag="catalogue", params=[
            _query("q", "words in the name or keywords"), _query("department", "department code"),
            _query("category", "category", CATEGORIES), _query("processing_type", "type", PROCESSING_TYPES),
            _query("tier", "deciding tier", TIERS), _query("include_retired", "1 to include retired items"),
            _query("limit", "page size (1-500)", kind="integer"), _query("offset", "page start", kind="integer")],
            access=PUBLIC)},
        "/api/items/{code}": {"get": _op("one item with its guide", params=[ITEM_CODE], errors=(404,),
                                         tag="catalogue", access=PUBLIC)},
        "/api/cases": {
            "post": _op("file a case", ok="201", body_ref="Filing", example=FILING_EXAMPLE, errors=(400, 404, 409),
                        answer_ref="Case", access="counter staff (village agents, township staff, the district's window)"),
            "get": _op("this station's cases (ID numbers masked; a department's own cases for its reviewers "
                       "and approvers)", params=[
                _query("scope", "which cases", ("held", "filed", "deciding", "all")),
                _query("status", "case status", list(LABELS)), _query("department", "department code"),
                _query("limit", "page size (1-500)", kind="integer"), _query("offset", "page start", kind="integer")]),
        },
        "/api/cases/{case_no}": {"get": _op("a case with its history and the actions the user may take now",
                                            params=[CASE_NO], errors=(404,), answer_ref="Case")},
        "/api/cases/{case_no}/supplement": {"post": _op(
            "hand in missing materials", body_ref="Supplement", params=[CASE_NO], errors=(400, 404, 409),
            answer_ref="Case", example={"materials": ["M05"]})},
        "/api/cases/{case_no}/return": {"post": _op(
            "return a case waiting for materials", body_ref="Return", params=[CASE_NO], errors=(400, 404, 409),
            answer_ref="Case", example={"reason": "申请人撤回申请"})},
        "/api/cases/{case_no}/forward": {"post": _op(
            "forward a case checked at a township (初审转报)", body_ref="Forward", params=[CASE_NO],
            errors=(400, 404, 409), access="township staff", answer_ref="Case",
            example={"note": "材料齐全，同意上报"})},
        "/api/cases/{case_no}/decisions": {"post": _op(
            "review, approve or reject", body_ref="Decision", params=[CASE_NO], errors=(400, 404, 409),
            access="the department's reviewer (review) or approver (approve); township staff for delegated items",
            answer_ref="Case", example={"step": "review", "outcome": "pass", "department": "civil_affairs"})},
        "/api/cases/{case_no}/deliver": {"post": _op(
            "hand the result to the applicant", body_ref="Delivery", params=[CASE_NO], errors=(400, 404, 409),
            answer_ref="Case", example={})},
        "/api/cases/{case_no}/suspend": {"post": _op(
            "ask for more materials and pause the clock", body_ref="Suspend", params=[CASE_NO],
            errors=(400, 404, 409), answer_ref="Case", example={"materials": ["M03"], "reason": "材料不清晰"})},
        "/api/cases/{case_no}/extension": {"post": _op(
            "ask for the case's one extension", body_ref="ExtensionRequest", params=[CASE_NO],
            errors=(400, 404, 409), answer_ref="Case", example={"days": 5, "reason": "需现场核查"})},
        "/api/cases/{case_no}/rating": {"post": _op(
            "rate a completed case (a level or a score 1-5, reasons, comment)", body_ref="Rating", params=[CASE_NO], errors=(400, 404, 409),
            answer_ref="Case", example={"score": 5, "comment": "办事很方便"})},
        "/api/alerts": {"get": _op("supervision warnings and cards about cases held here", tag="supervision",
                                   params=PAGE)},
        "/api/status": {"post": _op(
            "a resident's own case (number + the query code printed on the receipt); a wrong code and an unknown "
            "case answer alike; 5 failures per case or 30 per address within an hour answer 429",
            body_ref="ResidentQuery", errors=(400, 404, 429, 503), access=PUBLIC,
            example={"case_no": "445203001001-20261122-00001", "query_code": "K7QM-3RWX"})},
        "/api/cases/{case_no}/query-code": {"post": _op(
            "a new query code for a case held here (a reprinted receipt): the old one stops working; the plain "
            "code is in this answer only", params=[CASE_NO], errors=(404, 409), access="counter roles")},
        "/api/status/rating": {"post": _op(
            "a resident rates their own completed case (1-5) at the counter holding it", body_ref="ResidentRating",
            errors=(400, 404, 409, 429, 503), access=PUBLIC,
            example={"case_no": "445203001001-20261122-00001", "query_code": "K7QM-3RWX", "score": 5,
                     "comment": "村里就能办，很方便"})},
        "/api/openapi.json": {"get": _op("this document", errors=(), tag="station", access=PUBLIC)},
        "/api/metrics": {"get": _op("figures for Prometheus (text format): queues, cases by status, outbox",
                                    errors=(), tag="operations", access=PUBLIC)},
        "/api/dead-letters": {"get": _op("messages this station's consumers gave up on, with the reason",
                                         tag="operations", errors=(400, 409), access="administrators",
                                         params=[_query("limit", "page size (1-1000)", kind="integer"),
                                                 _query("offset", "page start (at most 10000)", kind="integer")])},
        "/api/dead-letters/retry": {"post": _op(
            "put dead letters back on the queue they failed on", tag="operations", errors=(400, 404, 409),
            access="administrators",
            example={"ids": ["3f2a9c"]})},
    }
    hall_components(spec)
    paths.update(hall_paths(_op, _query, _path_param, PUBLIC))
    paths.update(upload_paths(_op, _path_param))
    code_components(spec)
    paths.update(code_paths(_op, PUBLIC))
    paths.update(online_paths(_op, _path_param, PUBLIC))
    paths.update(bundle_paths(spec, _op, _path_param, _query, PUBLIC, is_district))
    if is_district:
        paths.update({
            "/api/catalogue/items": {"post": _op("add an item", ok="201", body_ref="Item", errors=(400, 409),
                                                 tag="catalogue", access="administrators")},
            "/api/catalogue/items/{code}": {"patch": _op("edit an item (fields to change)", params=[ITEM_CODE],
                                                         errors=(400, 404, 409), tag="catalogue",
                                                         body_ref="Item")},
            "/api/catalogue/items/{code}/delegate": {"post": _op(
                "delegate the item to a lower tier", body_ref="Delegation", params=[ITEM_CODE],
                errors=(400, 404, 409), tag="catalogue", example={"authority_tier": "township"})},
            "/api/catalogue/items/{code}/retire": {"post": _op("retire the item", params=[ITEM_CODE],
                                                               errors=(404, 409), tag="catalogue")},
            "/api/catalogue/calendar": {"post": _op(
                "publish a year's holiday schedule", ok="201", body_ref="Schedule", errors=(400,), tag="catalogue",
                example={"year": 2027, "holidays": ["2027-01-01"], "workdays": []})},
            "/api/cases/{case_no}/extension/decision": {"post": _op(
                "grant or refuse an extension", body_ref="ExtensionDecision", params=[CASE_NO], answer_ref="Case",
                access="the department's approver",
                errors=(400, 404, 409), example={"granted": True, "reason": "同意"})},
            "/api/supervision/lights": {"get": _op("running cases with their deadline light", tag="supervision",
                                                   params=[_query("light", "colour", ("green", "yellow", "red")),
                                                           *PAGE])},
            "/api/supervision/alerts": {"get": _op("warnings and cards raised", tag="supervision",
                                                   params=[_query("kind", "kind"),
                                                           _query("department", "department code"), *PAGE])},
            "/api/supervision/patrol": {"post": _op("run the deadline patrol now", tag="supervision", errors=(),
                                                    access="administrators")},
            "/api/follow-ups": {"get": _op("follow-ups of bad ratings", tag="supervision", params=PAGE)},
            "/api/follow-ups/{case_no}": {"post": _op(
                "answer a follow-up", params=[CASE_NO], errors=(400, 404, 409), tag="supervision",
                body_ref="FollowUpAnswer", access="the responsible department's reviewer or approver",
                example={"answer": "已约谈窗口人员并整改"})},
            "/api/stats": {"get": _op("the district's statistics", tag="supervision", params=[
                _query("from", "first filing date", kind="string"), _query("to", "last filing date"),
                _query("by", "grouping", ("none", "station", "tier", "department", "item", "category")),
                _query("hall_by", "grouping of the service halls' figures (default: as by, else none)",
                       ("none", "station", "tier", "window_type", "hour"))])},
            # 好差评: rectification orders and appeals (district/ratings_api.py)
            "/api/rectifications": {"get": _op(
                "rectification orders (整改单) of bad ratings", tag="ratings",
                access="the supervisor, administrators, window clerks; a department's reviewers and approvers theirs",
                params=[_query("state", "state", rating_orders.STATES), _query("office", "office"), *PAGE])},
            **{f"/api/rectifications/{{case_no}}/{tail}": {"post": _op(
                summary, params=[CASE_NO], errors=(400, 404, 409), tag="ratings", body_ref=ref, access=access,
                example=example)} for tail, summary, ref, access, example in (
                ("action", "record what the office did", "RectificationAction",
                 "the responsible office (see shared/auth/permissions.py)", {"action": "已约谈窗口人员并整改"}),
                ("follow-up", "record the follow-up call (回访)", "RectificationFollowUp", "the supervisor",
                 {"answer": "电话回访，群众认可", "level": "satisfied"}),
                ("rating", "record the resident's rating of the rectification", "RectificationRating",
                 "the supervisor", {"level": "satisfied"}))},
            "/api/ratings/stats": {"get": _op("the rating figures (好差评统计)", tag="ratings",
                                              access="the supervisor, administrators", params=[
                _query("from", "first rating day"), _query("to", "last rating day"),
                _query("by", "grouping", ("none", "department", "filing_station"))])},
            "/api/ratings/{case_no}": {"get": _op("a case's rating, its order, its appeal and their history",
                                                  params=[CASE_NO], errors=(404,), tag="ratings")},
            "/api/ratings/{case_no}/appeal": {"post": _op(
                "appeal a bad rating (申诉)", ok="201", params=[CASE_NO], errors=(400, 404, 409), tag="ratings",
                body_ref="RatingAppeal", access="the office its order names", example={"reason": "恶意评价，有录音"})},
            "/api/ratings/{case_no}/appeal/decision": {"post": _op(
                "uphold or annul the appealed rating (复核)", params=[CASE_NO], errors=(400, 404, 409),
                tag="ratings", body_ref="RatingAppealDecision", access="the supervisor",
                example={"decision": "annul", "reason": "经核实属恶意评价"})},
            "/api/rating-appeals": {"get": _op("appeals against ratings", tag="ratings", params=[
                _query("state", "state", rating_appeals.STATES), *PAGE])},
            # the access audit (district/audit_desk.py)
            **{path: {"get": _op(summary, tag="supervision", access="the district's supervisor only", params=[
                _query("station", "station code"), _query("username", "username (as typed, for logins)"),
                _query("case_no", "case number"), _query("kind", "kind", ("full_view", "change", "login")),
                _query("from", "first day (district time)"), _query("to", "last day (district time)"),
                _query("limit", "page size", kind="integer"), _query("offset", "entries to skip", kind="integer")])}
               for path, summary in (("/api/audit", "the access audit, every station's, newest first"),
                                     ("/api/audit.csv", "the access audit as a CSV file (UTF-8 with BOM)"))},
        })
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
