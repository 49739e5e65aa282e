"""Chinese labels for the codes the desk shows, as Jinja filters and globals."""
from shared.auth import roles
from shared.cases import states
from shared.catalogue.schemas import CATEGORY_NAMES, PROCESSING_TYPE_NAMES
from shared.stations import DISTRICT, TOWNSHIP, VILLAGE

TIER_NAMES = {DISTRICT: "区", TOWNSHIP: "镇（街道）", VILLAGE: "村（社区）"}
MATERIAL_KINDS = {"core": "核心材料", "secondary": "次要材料"}
LIGHTS = {"green": "正常", "yellow": "临期", "red": "超期"}
STEPS = {"review": "审查", "approve": "审批"}
OUTCOMES = {"pass": "通过", "reject": "不通过", "approved": "准予许可（批准）", "rejected": "不予许可（不批准）"}
ACCEPTANCES = {states.ACCEPTED: "受理", states.ACCEPTED_WITH_DEFICIENCY: "容缺受理",
               states.ACCEPTED_BY_COMMITMENT: "告知承诺受理"}
ACTIONS = {
    "file": "收件", "supplement": "补交材料", "return": "退回", "forward": "转报", "route_down": "下转",
    "receive": "接收", "check": "初审", "start_decision": "进入审批", "review": "审查", "approve": "审批",
    "suspend": "要求补正", "resume": "恢复计时", "request_extension": "申请延期",
    "extension_granted": "准予延期", "extension_refused": "不予延期", "send_result": "回传结果",
    "receive_result": "收到结果", "result_ready": "结果待领取", "deliver": "送达结果", "rate": "评价",
    "recompute_due_dates": "重算期限", "reissue_query_code": "补发查询码",
}
# what a redirect after a successful form says (?done=...)
DONE = {
    "login": "已登录。", "file": "已收件。请打印通知书交给申请人（查询码只在首次打印时显示）。", "supplement": "补交材料已登记。", "return": "办件已退回，可打印退回通知书。",
    "forward": "已转报上级。", "decide": "决定已记录。", "deliver": "结果已送达，办件办结。",
    "rate": "评价已记录，谢谢。", "suspend": "已要求补正，暂停计时。", "extension": "延期申请已提交。",
    "extension_decision": "延期申请已处理。",
}
# form fields of the API's error details, as the forms label them
FIELDS = {"name": "姓名", "id_number": "身份证号", "phone": "联系电话", "residence": "户籍所在地代码",
          "materials": "材料", "reason": "理由", "note": "备注", "score": "评分", "comment": "评价意见",
          "days": "延期天数", "item_code": "事项", "applicant": "申请人"}
MESSAGES = {
    "Missing data for required field.": "必填。", "Field may not be null.": "必填。",
    "Not a valid integer.": "请填写整数。", "Not a valid string.": "请填写文字。",
    "Length must be between 1 and 50.": "请填写（最多50字）。",
    "Shorter than minimum length 1.": "请至少选择一项。",
    "a rejection must give its reason in writing": "不予通过须写明理由。",
    "Length must be between 2 and 1000.": "请写明理由（2至1000字）。",
    "Must be greater than or equal to 1 and less than or equal to 5.": "请选择1至5分。",
    "Must be greater than or equal to 1 and less than or equal to 60.": "延期天数为1至60个工作日。",
    "the check digit is wrong (GB 11643); please check the number against the card":
        "校验位不符（GB 11643），请对照身份证核对号码。",
    "a citizen ID number has 17 digits and a check character (a digit or X)":
        "身份证号应为17位数字加1位校验码（数字或X）。",
    "the birth date in the number is not a real date": "号码中的出生日期无效。",
    "must be a mobile (11 digits) or landline number": "请填写11位手机号码或固定电话号码。",
    "must be the code of the applicant's township (9 digits) or village (12 digits)":
        "请填写申请人户籍所在镇（街道，9位）或村（社区，12位）的代码。",
}


def status_label(status):
    return states.LABELS.get(status, status or "—")


def fee_label(fee):
    return "不收费" if not fee else f"{fee:g} 元"


def when(value):
    """'2026-01-05T08:00:01.234+08:00' -> '2026-01-05 08:00'."""
    if not value:
        return "—"
    text = str(value)
    return text[:16].replace("T", " ") if len(text) > 10 else text


def message_of(messages):
    """A marshmallow message list, in Chinese where it is a common one."""
    if isinstance(messages, dict):
        return "；".join(f"{FIELDS.get(k, k)}：{message_of(v)}" for k, v in messages.items())
    if isinstance(messages, (list, tuple)):
        return " ".join(MESSAGES.get(str(m), str(m)) for m in messages)
    return MESSAGES.get(str(messages), str(messages))


FILTERS = {
    "status_label": status_label, "fee": fee_label, "when": when,
    "tier": lambda t: TIER_NAMES.get(t, t), "category": lambda c: CATEGORY_NAMES.get(c, c),
    "processing": lambda p: PROCESSING_TYPE_NAMES.get(p, p), "kind": lambda k: MATERIAL_KINDS.get(k, k),
    "role": lambda r: roles.LABELS.get(r, r), "action": lambda a: ACTIONS.get(a, a),
    "step": lambda s: STEPS.get(s, s), "outcome": lambda o: OUTCOMES.get(o, o),
    "acceptance": lambda a: ACCEPTANCES.get(a, a or "—"), "light": lambda c: LIGHTS.get(c, ""),
    "message": message_of,
}
GLOBALS = {"STATUS_LABELS": states.LABELS}
