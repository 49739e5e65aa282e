"""Who may do what, at the station the request reaches.

Every function raises Forbidden with a message saying why, or returns quietly. A user
belongs to one station and can only log in there, so "their own station" is given; the
checks here are about role, department and the step a case is at. Whether the case is in
a state that allows the action (and held here) is the workflow's business (409).
"""
from shared.auth import roles
from shared.cases import separation
from shared.cases.routing import deciding_departments
from shared.exceptions import Forbidden

ACTIONS = {
    "file": "受理办件",
    "supplement": "补交材料",
    "return": "退回办件",
    "deliver": "送达结果",
    "rate": "录入评价",
    "forward": "初审转报",
    "suspend": "要求补正（暂停计时）",
    "request_extension": "申请延期",
    "decide_extension": "审批延期申请",
    "edit_catalogue": "维护事项目录",
    "supervise": "查看电子监察",
    "patrol": "立即执行监察巡查",
    "dead_letters": "处理死信消息",
    "answer_follow_up": "答复整改",
    "manage_users": "管理用户",
    "decide": "作出审批决定",
    "read_rectifications": "查看整改单",
    "act_on_rectification": "录入整改情况",
    "follow_up_rectification": "录入整改回访",
    "appeal_rating": "对评价提出申诉",
    "decide_rating_appeal": "复核评价申诉",
}


def _refuse(user, action, why=""):
    label = roles.LABELS.get(user["role"], user["role"])
    raise Forbidden(f"{label} {user['name']}（{user['username']}）不能{ACTIONS.get(action, action)}"
                    + (f"：{why}" if why else ""))


def require(user, action, *allowed_roles):
    if user["role"] not in allowed_roles:
        _refuse(user, action)


def can_file(user):
    require(user, "file", *roles.COUNTER_ROLES)


def can_act_at_counter(user, action):
    """Supplement, return, deliver, rate: the counter where the resident stands."""
    require(user, action, *roles.COUNTER_ROLES)


def can_read_case(user, case):
    """Department roles see the cases of their own department; everyone else at the
    station sees every case the station has."""
    if user["role"] in roles.DEPARTMENT_ROLES and user["department"] not in deciding_departments(case):
        raise Forbidden(f"{user['name']}（{user['username']}）只能查看本部门的办件；"
                        f"办件 {case['case_no']} 属于其他部门")


def can_decide(user, case, step, department):
    """Reviewers give the review step and approvers the approval, each only for their own
    department; at a township or village its staff decide the items delegated there (the
    workflow refuses a case that is not decided at their station). Whoever accepted a
    two-step case does not decide it, and its reviewer does not approve it
    (shared/cases/separation.py)."""
    can_give_decision(user, step, department)
    can_read_case(user, case)
    separation.check(case, user, step, department)


def may_decide(user, case, step, department):
    """can_decide as a yes or no (what the desk offers; the desk checks again on submit)."""
    try:
        can_decide(user, case, step, department)
    except Forbidden:
        return False
    return True


def can_give_decision(user, step, department):
    """The part of can_decide that needs no case (the role, the step and the department
    the user decides for): checked before the case is looked up."""
    if user["role"] in roles.LOCAL_DECIDING_ROLES:
        return
    if user["role"] not in roles.DEPARTMENT_ROLES:
        _refuse(user, "decide", "只有部门审查、审批人员和承接下放事项的镇村工作人员可以作出决定")
    wanted = roles.REVIEWER if step == "review" else roles.APPROVER
    if user["role"] != wanted:
        raise Forbidden(f"{roles.LABELS[user['role']]}不能作出{'审查' if step == 'review' else '审批'}决定"
                        f"（该步骤由{roles.LABELS[wanted]}作出）")
    if department != user["department"]:
        raise Forbidden(f"{user['name']}（{user['username']}）只能代表本部门（{user['department']}）"
                        f"作出决定，不能代表 {department}")


def can_handle_decision_step(user, case, action):
    """Suspend (补正) and ask for an extension: the office deciding the case."""
    require(user, action, *roles.DECIDING_ROLES)
    can_read_case(user, case)


def can_decide_extension(user, case):
    require(user, "decide_extension", roles.APPROVER)
    can_read_case(user, case)


def can_edit_catalogue(user):
    require(user, "edit_catalogue", roles.ADMINISTRATOR)


def can_supervise(user):
    require(user, "supervise", roles.SUPERVISOR, roles.ADMINISTRATOR)


def can_patrol(user):
    """Running the deadline patrol raises warnings and cards: a change, so administrators
    only (the supervisor reads and changes nothing; the district's timer needs no user)."""
    require(user, "patrol", roles.ADMINISTRATOR)


def can_handle_dead_letters(user):
    require(user, "dead_letters", roles.ADMINISTRATOR)


def can_answer_follow_ups(user):
    """Whether this user answers follow-ups at all (before any is looked up)."""
    require(user, "answer_follow_up", *roles.DEPARTMENT_ROLES)


def can_answer_follow_up(user, department):
    can_answer_follow_ups(user)
    if user["department"] != department:
        raise Forbidden(f"整改由责任部门（{department}）答复，{user['name']}属于 {user['department']}")


def sees_full_id(user):
    """Whole ID numbers only for those whose decision needs them."""
    return user["role"] in (*roles.COUNTER_ROLES, *roles.DEPARTMENT_ROLES)


def list_department(user):
    """The department a user's case lists are limited to (None: no limit)."""
    return user["department"] if user["role"] in roles.DEPARTMENT_ROLES else None


# -- ratings: rectification orders (整改) and appeals (申诉), shared/ratings/ ---------------
# A department's order is its reviewers' and approvers'. A counter's order at the district
# is the district's window clerks'; a village's or township's counter staff log in at their
# own station, not the district's, so the supervisor records their action on their behalf
# (what they report) and their appeals cannot be made here.
def can_act_on_rectification(user, order, district_code):
    """Who records the office's action on `order` (office, office_kind, station)."""
    if order["office_kind"] == "department":
        if user["role"] not in roles.DEPARTMENT_ROLES:
            _refuse(user, "act_on_rectification", f"由责任部门（{order['office']}）的审查、审批人员录入")
        if user["department"] != order["office"]:
            raise Forbidden(f"整改由责任部门（{order['office']}）录入，{user['name']}属于 {user['department']}")
    elif order["station"] == district_code:
        require(user, "act_on_rectification", roles.WINDOW_CLERK)
    else:
        require(user, "act_on_rectification", roles.SUPERVISOR)


def can_follow_up_rectification(user):
    """The supervisor makes the follow-up call (回访) and records the resident's rating."""
    require(user, "follow_up_rectification", roles.SUPERVISOR)


def can_appeal_rating(user, order, district_code):
    """The office a bad rating's order names may appeal it (a village's or township's
    counter not here: see above)."""
    if order["office_kind"] != "department" and order["station"] != district_code:
        _refuse(user, "appeal_rating", f"受理站点（{order['station']}）的申诉须在该站点提出")
    can_act_on_rectification(user, order, district_code)


def can_decide_rating_appeal(user):
    require(user, "decide_rating_appeal", roles.SUPERVISOR)


def rectification_office(user, asked=None):
    """The office a user's lists of orders and appeals are limited to: a department's
    reviewers and approvers see their own department's (asking for another is refused);
    the supervisor, the administrator and the district's window clerks see every one (or
    the office asked for); nobody else sees them."""
    if user["role"] in roles.DEPARTMENT_ROLES:
        if asked and asked != user["department"]:
            raise Forbidden(f"{user['name']}（{user['username']}）只能查看本部门（{user['department']}）的整改单")
        return user["department"]
    require(user, "read_rectifications", roles.SUPERVISOR, roles.ADMINISTRATOR, roles.WINDOW_CLERK)
    return asked or None
