"""The roles a user can hold, and at which tier of station each role works."""
from shared.stations import DISTRICT, TOWNSHIP, VILLAGE

VILLAGE_AGENT = "village_agent"        # 村（社区）代办员: files for residents at a village station
TOWNSHIP_STAFF = "township_staff"      # 镇（街道）工作人员: the township's window and delegated items
WINDOW_CLERK = "window_clerk"          # 区综合受理窗口: files cases at the district's windows
REVIEWER = "reviewer"                  # 区部门审查人员 (一审), for one department
APPROVER = "approver"                  # 区部门审批人员 (一核), for one department
ADMINISTRATOR = "administrator"        # 系统管理员: the catalogue (district), users, dead letters
SUPERVISOR = "supervisor"              # 电子监察: reads everything, changes nothing

ROLES = (VILLAGE_AGENT, TOWNSHIP_STAFF, WINDOW_CLERK, REVIEWER, APPROVER, ADMINISTRATOR, SUPERVISOR)

LABELS = {
    VILLAGE_AGENT: "村（社区）代办员", TOWNSHIP_STAFF: "镇（街道）工作人员", WINDOW_CLERK: "区综合受理窗口",
    REVIEWER: "部门审查人员", APPROVER: "部门审批人员", ADMINISTRATOR: "系统管理员", SUPERVISOR: "电子监察人员",
}

TIERS = {
    VILLAGE_AGENT: (VILLAGE,), TOWNSHIP_STAFF: (TOWNSHIP,), WINDOW_CLERK: (DISTRICT,),
    REVIEWER: (DISTRICT,), APPROVER: (DISTRICT,), ADMINISTRATOR: (DISTRICT, TOWNSHIP, VILLAGE),
    SUPERVISOR: (DISTRICT,),
}

# the people at a counter: they file cases, hand in supplements, deliver results
COUNTER_ROLES = (VILLAGE_AGENT, TOWNSHIP_STAFF, WINDOW_CLERK)
# roles that act for one department
DEPARTMENT_ROLES = (REVIEWER, APPROVER)
# roles that decide cases: village agents and township staff for the items delegated to
# their station (村级证明 and the like, 下放事项), the district's departments
LOCAL_DECIDING_ROLES = (VILLAGE_AGENT, TOWNSHIP_STAFF)
DECIDING_ROLES = (*LOCAL_DECIDING_ROLES, REVIEWER, APPROVER)


def signed(user):
    """How a user appears in a case's history: name and username (at most 92 characters)."""
    return f"{user['name']}（{user['username']}）"
