"""Who may read the access audit: the district's supervisor (电子监察) only.

Not the administrator: the audit records what administrators do too (adding users,
their logins), and whoever runs the system should not be the one who reviews its
audit (等保: 审计管理员 apart from 系统管理员). Not the staff whose views it records.
"""
from shared.auth import roles
from shared.exceptions import Forbidden


def can_read_audit(user):
    if user["role"] != roles.SUPERVISOR:
        label = roles.LABELS.get(user["role"], user["role"])
        raise Forbidden(f"{label} {user['name']}（{user['username']}）不能查看访问审计：访问审计只向区电子监察人员开放"
                        f" (the access audit is for the district's supervisor only)")
