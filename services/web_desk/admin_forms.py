"""The administrator's forms (catalogue items, calendars, users): what a submitted form
becomes as the API's body, what an item looks like in the form, and the API's field
errors in Chinese, one message per form field, shown next to that field.

The body is built as the API would receive it (a number typed wrongly stays text, so
the schema names the problem); the domain validates it (shared/catalogue/schemas.py,
shared/auth/schemas.py) and its messages are translated here."""
import hashlib
import json
import re

from services.web_desk.labels import TIER_NAMES
from shared.auth import roles
from shared.catalogue.schemas import CATEGORY_NAMES, PROCESSING_TYPE_NAMES
from shared.stations import TIERS

# how the forms label the catalogue's fields (the preview and the history use them too)
ITEM_LABELS = {
    "code": "事项编码", "name": "事项名称", "department": "实施部门", "category": "事项类别",
    "processing_type": "办件类型", "joint_departments": "联办部门", "legal_limit_days": "法定时限（工作日）",
    "promised_limit_days": "承诺时限（工作日）", "fee": "收费（元）", "authority_tier": "审批层级",
    "accepting_tiers": "可受理层级", "decision_steps": "审批环节", "allows_commitment": "允许告知承诺",
    "allows_deficiency": "允许容缺受理", "min_applicant_age": "申请人最低年龄", "keywords": "关键词",
    "materials": "申请材料", "guide": "办事指南", "status": "状态", "year": "年份", "holidays": "放假日期",
    "workdays": "调休上班日期",
}
GUIDE_FIELDS = {"where": "办理地点", "basis": "设定依据", "how_long": "办理时间说明", "how_much": "收费说明",
                "notes": "其他说明"}
MATERIAL_FIELDS = {"code": "材料编码", "name": "材料名称", "kind": "材料类型", "copies": "份数"}
USER_LABELS = {"username": "用户名", "name": "姓名", "role": "角色", "department": "所属部门"}
STATUS_NAMES = {"current": "现行", "retired": "已取消"}
KIND_NAMES = {"add": "新增事项", "edit": "修改事项", "delegate": "下放", "retire": "取消事项", "calendar": "发布节假日安排",
              "bundle": "一件事（新增、修改或取消）"}
STEP_CHOICES = {"review,approve": "审查、审批（一审一核）", "approve": "审批（一步）"}
EXTRA_MATERIAL_ROWS = 3
MAX_MATERIAL_ROWS = 60

# the schemas' messages, in Chinese: exact ones, then patterns with their values
EXACT = {
    "Missing data for required field.": "必填。",
    "Field may not be null.": "必填。",
    "Not a valid integer.": "请填写整数。",
    "Not a valid number.": "请填写数字。",
    "Not a valid string.": "请填写文字。",
    "Not a valid boolean.": "请选择是或否。",
    "Not a valid list.": "格式不正确。",
    "Not a valid date.": "日期格式应为“2027-01-01”。",
    "Unknown field.": "不认识的字段。",
    "String does not match expected pattern.": "格式不正确：1至8位大写字母或数字。",
    "must look like 'SJ-001' (2-4 capitals, dash, 3 digits)": "编码格式应如“SJ-001”：2至4个大写字母、短横线、3位数字。",
    "a joint item needs at least two departments": "联办件至少需要两个联办部门。",
    "a department is listed twice": "联办部门重复。",
    "only a joint item lists joint departments": "只有联办件才填写联办部门。",
    "an immediate item is done the same day: the promised limit must be 0": "即办件当天办结，承诺时限应为0。",
    "must be ['approve'] or ['review', 'approve']": "审批环节应为“审批”或“审查、审批”。",
    "at least one tier must be able to accept the item": "至少选择一个可受理的层级。",
    "the deciding tier must also be able to accept the item": "审批层级也必须能受理该事项，请勾选。",
    "material codes must be unique within the item": "材料编码不能重复。",
    "a licence needs at least one core material": "行政许可事项至少需要一项核心材料。",
    "acceptance with deficiency needs at least one secondary material": "容缺受理需要至少一项次要材料。",
    "2-50 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit":
        "用户名为2至50位小写字母、数字或“. _ -”，以字母或数字开头。",
}
PATTERNS = [
    (r"Length must be between (\d+) and (\d+)\.", "长度应为{0}至{1}个字符。"),
    (r"Shorter than minimum length (\d+)\.", "至少{0}个字符。"),
    (r"Longer than maximum length (\d+)\.", "最多{0}个字符。"),
    (r"Must be one of: .*\.", "请从列表中选择。"),
    (r"Must be greater than or equal to (-?[\d.]+) and less than or equal to (-?[\d.]+)\.", "应在{0}至{1}之间。"),
    (r"Must be greater than or equal to (-?[\d.]+)\.", "不能小于{0}。"),
    (r"unknown department '(.*)'", "没有“{0}”这个部门。"),
    (r"the promised limit \((\d+)\) exceeds the legal limit \((\d+)\)",
     "承诺时限（{0}个工作日）不能超过法定时限（{1}个工作日）。"),
    (r"an item with code '(.*)' already exists.*", "编码“{0}”已有事项，请修改该事项，不要重复新增。"),
    (r"user '(.*)' already exists.*", "用户名“{0}”已存在。"),
    (r"a (\w+) \(.*\) does not work at a (\w+) station", "该角色不在本级站点工作。"),
    (r"a (\w+) needs one of the district's departments.*", "审查、审批人员须选择所属部门。"),
    (r"only reviewers and approvers belong to a department", "只有审查、审批人员属于部门，请不要选择部门。"),
    (r"(\d{4}-\d{2}-\d{2}) is not in year (\d{4})", "{0} 不在 {1} 年。"),
    (r"days both off and worked: \[(.*)\]", "同一天不能既放假又上班：{0}。"),
]


def chinese(message):
    """One of the schemas' messages in Chinese (unknown ones as they are)."""
    text = str(message).strip()
    if text in EXACT:
        return EXACT[text]
    for pattern, template in PATTERNS:
        match = re.fullmatch(pattern, text)
        if match:
            groups = [g.replace("datetime.date", "") for g in match.groups()]
            return template.format(*groups)
    return text


def field_errors(details):
    """marshmallow's nested errors as {form field: Chinese message}: `materials.0.code`,
    `guide.where`; a list's own problem under the list's name."""
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, (list, tuple)):
            messages = [m for m in value if not isinstance(m, (dict, list))]
            for m in value:
                if isinstance(m, (dict, list)):
                    walk(prefix, m)
            if messages:
                text = " ".join(dict.fromkeys(chinese(m) for m in messages))
                flat[prefix] = f"{flat[prefix]} {text}" if prefix in flat else text
        else:
            flat[prefix] = chinese(value)
    walk("", details or {})
    return flat


def error_fields(error, known=()):
    """{form field: message} of a refusal: its details, or its message "field: text", or a
    Conflict naming the code or username; otherwise {"": message} for the banner."""
    if getattr(error, "details", None):
        return field_errors(error.details)
    message = error.message
    field, sep, text = message.partition(": ")
    if sep and field in known:
        return {field: chinese(text)}
    if message.startswith("an item with code"):
        return {"code": chinese(message)}
    if message.startswith("user '"):
        return {"username": chinese(message)}
    return {"": chinese(message)}


# -- the catalogue's item form ---------------------------------------------------------------
def _number(text, kind=int):
    """A number typed in the form, or the text itself (the schema names the problem);
    None for an empty box."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        return text


def _words(text):
    return [w for w in re.split(r"[\s,，、;；]+", text or "") if w]


def item_from_form(form):
    """The API's item body from the item form."""
    steps = form.get("decision_steps", "review,approve")
    body = {
        "code": form.get("code", "").strip(),
        "name": form.get("name", "").strip(),
        "department": form.get("department") or None,
        "category": form.get("category") or None,
        "processing_type": form.get("processing_type") or None,
        "joint_departments": form.getlist("joint_departments"),
        "legal_limit_days": _number(form.get("legal_limit_days")),
        "promised_limit_days": _number(form.get("promised_limit_days")),
        "fee": _number(form.get("fee"), float) or 0,
        "authority_tier": form.get("authority_tier") or None,
        "accepting_tiers": form.getlist("accepting_tiers"),
        "decision_steps": [s for s in steps.split(",") if s],
        "allows_commitment": form.get("allows_commitment") == "on",
        "allows_deficiency": form.get("allows_deficiency") == "on",
        "min_applicant_age": _number(form.get("min_applicant_age")),
        "keywords": _words(form.get("keywords")),
        "materials": [],
        "guide": {key: form.get(f"guide.{key}", "").strip() for key in GUIDE_FIELDS},
    }
    rows = form.get("material_rows", "")
    rows = min(int(rows), MAX_MATERIAL_ROWS) if rows.isdigit() else 0
    for n in range(rows):
        row = {key: form.get(f"materials.{n}.{key}", "").strip() for key in MATERIAL_FIELDS}
        if not (row["code"] or row["name"]):
            continue  # an empty row of the form
        body["materials"].append({"code": row["code"], "name": row["name"], "kind": row["kind"] or None,
                                  "copies": _number(row["copies"]) or 1})
    return body


def item_form_values(item):
    """What the item form shows for an item (or a body the administrator submitted)."""
    values = {key: item.get(key) for key in ("code", "name", "department", "category", "processing_type",
                                             "authority_tier", "legal_limit_days", "promised_limit_days",
                                             "min_applicant_age")}
    fee = item.get("fee")
    values["fee"] = "" if fee in (None, 0, 0.0) else (f"{fee:g}" if isinstance(fee, float) else fee)
    values["joint_departments"] = list(item.get("joint_departments") or [])
    values["accepting_tiers"] = list(item.get("accepting_tiers") or [])
    values["decision_steps"] = ",".join(item.get("decision_steps") or ["review", "approve"])
    values["allows_commitment"] = bool(item.get("allows_commitment"))
    values["allows_deficiency"] = bool(item.get("allows_deficiency"))
    values["keywords"] = " ".join(item.get("keywords") or [])
    values["guide"] = {key: (item.get("guide") or {}).get(key, "") for key in GUIDE_FIELDS}
    materials = [dict(m) for m in item.get("materials") or []]
    values["materials"] = materials + [{} for _ in range(EXTRA_MATERIAL_ROWS)]
    return values


def new_item_values():
    return item_form_values({"accepting_tiers": list(TIERS), "decision_steps": ["review", "approve"],
                             "category": "public_service", "processing_type": "promised",
                             "authority_tier": "district"})


def digest(body):
    """A fingerprint of what was previewed: saving needs the same body."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


# -- the calendar's form ---------------------------------------------------------------------
def schedule_from_form(form):
    return {"year": _number(form.get("year")),
            "holidays": _words(form.get("holidays")), "workdays": _words(form.get("workdays"))}


def schedule_error_fields(error, body):
    """A schedule's refusal next to its field: a day of the wrong year is in the list it
    was typed in."""
    fields = error_fields(error, known=("year", "holidays", "workdays"))
    banner = fields.pop("", None)
    if banner is None:
        return fields
    text = error.message.partition(": ")[2]
    day = re.match(r"(\d{4}-\d{2}-\d{2}) is not in year", text)
    if day:
        where = "holidays" if day.group(1) in body.get("holidays", []) else "workdays"
        return {**fields, where: chinese(text)}
    if text.startswith("days both off and worked"):
        return {**fields, "workdays": chinese(text)}
    return {**fields, "": banner}


# -- a new user's form -----------------------------------------------------------------------
def user_from_form(form):
    return {"username": form.get("username", "").strip(), "name": form.get("name", "").strip(),
            "role": form.get("role") or None, "department": form.get("department") or None}


def shown(field, value, department_name=str):
    """A field's value as the preview and the history show it, in Chinese."""
    if field == "department" and value:
        return department_name(value)
    if field == "joint_departments" and value:
        return "、".join(department_name(d) for d in value)
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if field == "category":
        return CATEGORY_NAMES.get(value, value)
    if field == "processing_type":
        return PROCESSING_TYPE_NAMES.get(value, value)
    if field == "status":
        return STATUS_NAMES.get(value, value)
    if field in ("authority_tier",):
        return TIER_NAMES.get(value, value)
    if field == "accepting_tiers":
        return "、".join(TIER_NAMES.get(t, t) for t in value)
    if field == "decision_steps":
        return STEP_CHOICES.get(",".join(value), "、".join(value))
    if field == "materials":
        kinds = {"core": "核心", "secondary": "次要"}
        return "；".join(f"{m.get('code')} {m.get('name')}（{kinds.get(m.get('kind'), m.get('kind'))}，"
                        f"{m.get('copies', 1)}份）" for m in value)
    if field == "guide":
        return "；".join(f"{GUIDE_FIELDS.get(k, k)}：{v}" for k, v in value.items() if v) or "—"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


ROLE_CHOICES = {role: roles.LABELS[role] for role in roles.ROLES}
