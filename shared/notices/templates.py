"""The notices a station sends residents: one template per kind, with its template id
(as an SMS gateway knows it once the template is approved) and its Simplified Chinese
text with ${name} variables, the shape Chinese SMS gateways use. The gateway adds the
signature (【签名】) in front; the file channel writes it from the configured sign.

Rules kept here and checked by `check`:
- a notice carries exactly its template's variables (those of one of its kind's
  variants), each a non-empty string, cut to MAX_VALUE characters (gateways cap a
  variable's length);
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


# A kind may have several templates (variants with different variables: a pre-review
# that passes names the counter, one that refuses gives the reason); a notice uses the
# variant whose variables are exactly its params. Every case notice greets the applicant
# by name and names the item and the case number (shared/cases/pre_review.notice).
_CASE = "${name}您好，您申请的“${item}”（受理编号${case_no}）"
VARIANTS = (
    Template(ACCEPTANCE, "TB_ACCEPTANCE_01", "受理通知",
             "${name}您好，您申请的“${item}”已在${station}受理，受理编号${case_no}，预计${due_date}前办结。"
             "请凭受理编号和查询码查询进度。"),
    Template(SUPPLEMENT_NEEDED, "TB_SUPPLEMENT_01", "一次性补正告知",
             _CASE + "需补正以下材料：${materials}。请一次补齐后在网上办事大厅补传，或送到${station}。"),
    Template(PRE_REVIEW_ANSWER, "TB_PRE_REVIEW_PASS_01", "网上预审通过",
             _CASE + "网上预审结果：${answer}。请携带材料原件到${station}办理，只需跑一次。"),
    Template(PRE_REVIEW_ANSWER, "TB_PRE_REVIEW_REFUSE_01", "网上预审不予受理",
             _CASE + "网上预审结果：${answer}。原因：${reason}。"),
    Template(RESULT_READY, "TB_RESULT_READY_01", "办结通知",
             _CASE + "已办结，结果：${outcome}。结果由${station}发放或按您选择的方式送达。"),
    Template(ONE_TIME_CODE, "TB_CODE_01", "短信验证码",
             "您的验证码为${code}，${minutes}分钟内有效。工作人员不会向您索要验证码，请勿告诉他人。"),
    Template(APPOINTMENT_REMINDER, "TB_APPOINTMENT_01", "预约提醒",
             "您已预约${day}${half_day}到${station}办理业务（预约号${booking_no}），请按时携带身份证件到场。"),
)
TEMPLATES = {}
for _variant in VARIANTS:
    TEMPLATES.setdefault(_variant.kind, _variant)   # a kind's first variant
BY_ID = {v.template_id: v for v in VARIANTS}

KINDS = tuple(TEMPLATES)
_SECRET_KEYS = {"code", "query_code", "querycode", "password", "otp"}


def template(kind):
    try:
        return TEMPLATES[kind]
    except KeyError:
        raise InvalidInput(f"no notice of kind {kind!r}: one of {', '.join(KINDS)}（没有这种通知）") from None


def variants(kind):
    template(kind)
    return [v for v in VARIANTS if v.kind == kind]


def check(kind, mobile, params):
    """The notice's template (the kind's variant whose variables are exactly the params'
    names) and its params as strings; a value longer than MAX_VALUE is cut to fit, ending
    with "…". InvalidInput naming the problem: an unknown kind, a mobile that is not a
    mainland mobile number, params no variant takes, an empty value, a code where none
    may be."""
    template(kind)
    if not isinstance(mobile, str) or not MOBILE.match(mobile):
        raise InvalidInput("mobile: a mainland mobile number, 11 digits starting 13-19（手机号码格式不正确）")
    if not isinstance(params, dict):
        raise InvalidInput("params: an object of the template's variables")
    given = set(params)
    chosen = next((v for v in variants(kind) if set(v.variables) == given), None)
    if chosen is None:
        secret = {k.lower() for k in given} & _SECRET_KEYS if kind != ONE_TIME_CODE else set()
        takes = " or ".join("{" + ", ".join(sorted(set(v.variables))) + "}" for v in variants(kind))
        raise InvalidInput(f"notice params: {kind} takes {takes}, not {{{', '.join(sorted(given))}}}"
                           + (" (a notice never carries a query code or a one-time code)" if secret else "")
                           + "（通知内容不完整或有误）")
    values, problems = {}, []
    for name in sorted(given):
        value = params[name]
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            problems.append(f"{name}: a string")
            continue
        value = " ".join(str(value).split())
        if not value:
            problems.append(f"{name}: empty")
        values[name] = value if len(value) <= MAX_VALUE else value[:MAX_VALUE - 1] + "…"
    if problems:
        raise InvalidInput("notice params: " + "; ".join(problems) + "（通知内容不完整或有误）")
    return chosen, values


def render(kind, params, sign="", template_id=None):
    """The text the resident reads (the notice's template, or the kind's variant its
    params fit), with the signature in front when given."""
    chosen = BY_ID.get(template_id) or next(
        (v for v in variants(kind) if set(v.variables) == set(params)), template(kind))
    text = chosen.render(params)
    return f"【{sign}】{text}" if sign else text
