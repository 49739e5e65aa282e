"""The notices a station sends residents: one template per kind, with its template id
(as an SMS gateway knows it once the template is approved) and its Simplified Chinese
text with ${name} variables, the shape Chinese SMS gateways use. The gateway adds the
signature (【签名】) in front; the file channel writes it from the configured sign.

Rules kept here and checked by `check`:
- a notice carries exactly its template's variables, each a short string (gateways cap a
  variable's length; ours: MAX_VALUE characters);
- no text ever carries a query code (查询码) or a one-time code, except the one-time code
  notice itself: no template but `one_time_code` has a variable for one, and a value
  that names one (a key such as `query_code`) is refused.
"""
import re
from dataclasses import dataclass

from shared.exceptions import InvalidInput

ACCEPTANCE = "acceptance"
SUPPLEMENT_NEEDED = "supplement_needed"
PRE_REVIEW_ANSWER = "pre_review_answer"
RESULT_READY = "result_ready"
ONE_TIME_CODE = "one_time_code"
APPOINTMENT_REMINDER = "appointment_reminder"

MAX_VALUE = 120          # characters in one variable (the whole SMS stays a few segments)
MOBILE = re.compile(r"^1[3-9]\d{9}$")
_VARIABLE = re.compile(r"\$\{(\w+)\}")


@dataclass(frozen=True)
class Template:
    kind: str
    template_id: str
    title: str           # what the desk calls this notice
    text: str

    @property
    def variables(self):
        return tuple(_VARIABLE.findall(self.text))

    def render(self, params):
        return _VARIABLE.sub(lambda m: str(params[m.group(1)]), self.text)


TEMPLATES = {t.kind: t for t in (
    Template(ACCEPTANCE, "TB_ACCEPTANCE_01", "受理通知",
             "您申请的“${item}”已于${date}在${station}受理，受理编号${case_no}，预计${due_date}前办结。"
             "请凭受理编号和查询码查询进度。"),
    Template(SUPPLEMENT_NEEDED, "TB_SUPPLEMENT_01", "一次性补正告知",
             "您申请的“${item}”（受理编号${case_no}）需补正以下材料：${missing}。请一次补齐后重新提交，"
             "${where}。"),
    Template(PRE_REVIEW_ANSWER, "TB_PRE_REVIEW_01", "网上预审结果",
             "您网上申请的“${item}”（受理编号${case_no}）预审结果：${answer}。${next_step}"),
    Template(RESULT_READY, "TB_RESULT_READY_01", "办结通知",
             "您申请的“${item}”（受理编号${case_no}）已办结：${outcome}。${delivery}"),
    Template(ONE_TIME_CODE, "TB_CODE_01", "短信验证码",
             "您的验证码为${code}，${minutes}分钟内有效。工作人员不会向您索要验证码，请勿告诉他人。"),
    Template(APPOINTMENT_REMINDER, "TB_APPOINTMENT_01", "预约提醒",
             "您已预约${day}${half_day}到${station}办理业务（预约号${booking_no}），请按时携带身份证件到场。"),
)}

KINDS = tuple(TEMPLATES)
_SECRET_KEYS = {"code", "query_code", "querycode", "password", "otp"}


def template(kind):
    try:
        return TEMPLATES[kind]
    except KeyError:
        raise InvalidInput(f"no notice of kind {kind!r}: one of {', '.join(KINDS)}（没有这种通知）") from None


def check(kind, mobile, params):
    """The notice's template and its params as strings; InvalidInput naming the problem
    (unknown kind, a mobile that is not a mainland mobile number, a missing or unexpected
    variable, a value too long or empty, a code where none may be)."""
    chosen = template(kind)
    if not isinstance(mobile, str) or not MOBILE.match(mobile):
        raise InvalidInput("mobile: a mainland mobile number, 11 digits starting 13-19（手机号码格式不正确）")
    if not isinstance(params, dict):
        raise InvalidInput("params: an object of the template's variables")
    expected, given = set(chosen.variables), set(params)
    problems = []
    if given - expected:
        names = ", ".join(sorted(given - expected))
        secret = " (a notice never carries a query code or a one-time code)" if \
            {k.lower() for k in given - expected} & _SECRET_KEYS else ""
        problems.append(f"{kind} has no variable {names}{secret}")
    if expected - given:
        problems.append(f"{kind} needs {', '.join(sorted(expected - given))}")
    values = {}
    for name in sorted(expected & given):
        value = params[name]
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            problems.append(f"{name}: a string")
            continue
        value = str(value).strip()
        if not value or len(value) > MAX_VALUE:
            problems.append(f"{name}: 1 to {MAX_VALUE} characters")
        values[name] = value
    if problems:
        raise InvalidInput("notice params: " + "; ".join(problems) + "（通知内容不完整或有误）")
    return chosen, values


def render(kind, params, sign=""):
    """The text the resident reads, with the signature in front when given."""
    text = template(kind).render(params)
    return f"【{sign}】{text}" if sign else text
