"""The sample district's staff: who works at which station, and their first password.

Every station gets the people it needs to run: an administrator (`admin`), and besides,
a village its agent (`agent`), a township its staff (`staff`), the district a supervisor
(`supervisor`), a window clerk (`clerk`) and a reviewer and an approver for each
department (`<department>.reviewer`, `<department>.approver`). Names come from
a names file where it has them (district/data/users.yaml for the sample Jiedong district),
otherwise from the station's name (test networks). Accounts are made in each station's
own database, by the station itself when it starts with `--sample-users`.
"""
import os
from pathlib import Path

import yaml

from shared.auth import roles
from shared.auth.accounts import Accounts
from shared.db.models import User
from shared.stations import DISTRICT, TOWNSHIP, VILLAGE

# the sample accounts' first password; a real district sets its own (and changes them)
SAMPLE_PASSWORD = os.environ.get("TONGBAN_SAMPLE_PASSWORD", "tongban-2026")

COUNTER_USERNAME = {VILLAGE: "agent", TOWNSHIP: "staff", DISTRICT: "clerk"}


def department_username(department, role):
    return f"{department}.{role}"


def _names(path):
    if not path or not Path(path).exists():
        return {"district": {}, "townships": {}, "villages": {}}
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {k: data.get(k) or {} for k in ("district", "townships", "villages")}


def station_staff(network, station, names_path=None):
    """[{username, name, role, department}] of one station."""
    names = _names(names_path)
    # every station has an administrator for its own operations (dead letters, users)
    admin = {"username": "admin", "role": roles.ADMINISTRATOR, "department": None,
             "name": f"{station.name[:30]}管理员"}
    if station.tier == VILLAGE:
        return [{"username": "agent", "role": roles.VILLAGE_AGENT, "department": None,
                 "name": names["villages"].get(station.code) or f"{station.name[:30]}代办员"}, admin]
    if station.tier == TOWNSHIP:
        return [{"username": "staff", "role": roles.TOWNSHIP_STAFF, "department": None,
                 "name": names["townships"].get(station.code) or f"{station.name[:30]}工作人员"}, admin]
    district = names["district"]
    staff = [{"username": username, "role": role, "department": None,
              "name": district.get(username) or label}
             for username, role, label in (("admin", roles.ADMINISTRATOR, "系统管理员"),
                                           ("supervisor", roles.SUPERVISOR, "电子监察员"),
                                           ("clerk", roles.WINDOW_CLERK, "综合窗口受理员"))]
    for code, department in network.departments.items():
        for role, label in ((roles.REVIEWER, "审查员"), (roles.APPROVER, "审批员")):
            username = department_username(code, role)
            staff.append({"username": username, "role": role, "department": code,
                          "name": district.get(username) or f"{department.name[:30]}{label}"})
    return staff


def seed_station(database, station, network, names_path=None, password=SAMPLE_PASSWORD):
    """Create the staff a station lacks; returns how many accounts were made."""
    made = 0
    for person in station_staff(network, station, names_path):
        with database.transaction() as session:
            if session.get(User, person["username"]) is None:
                Accounts(session, station, network).add({**person, "password": password})
                made += 1
    return made
