"""The sample district's staff: who works at which station, and their first password.

Every station gets the people it needs to run: an administrator (`admin`), and besides,
a village three agents (`agent`, `agent.b`, `agent.c`), a township three staff (`staff`,
`staff.b`, `staff.c`), the district a supervisor (`supervisor`), a window clerk (`clerk`)
and a reviewer and an approver for each department (`<department>.reviewer`,
`<department>.approver`). Three at a village or township because a two-step item
delegated there and filed there needs three people: one accepts, another reviews, a third
approves (受审分离, shared/cases/separation.py). Names come from a names file where it has
them (district/data/users.yaml for the sample Jiedong district), otherwise from the
station's name (test networks); the second and third person get made-up names chosen
from the station code, the same every time. Accounts are made in each station's own
database, by the station itself when it starts with `--sample-users`.
"""
import hashlib
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
# the people deciding delegated items at a village or township: the first is also the
# counter (COUNTER_USERNAME); the other two review and approve what the first accepted
LOCAL_DECIDERS = {VILLAGE: ("agent", "agent.b", "agent.c"), TOWNSHIP: ("staff", "staff.b", "staff.c")}

# made-up names for the second and third person of a station (潮汕 surnames, common given names)
_SURNAMES = "陈林黄蔡郑许谢吴洪詹卢余方柯邱朱沈罗魏肖"
_GIVEN = ("晓燕", "志强", "丽华", "少鹏", "秀珍", "锦城", "惠敏", "泽鸿", "佩玲", "海涛",
          "雪梅", "俊彬", "玉兰", "伟东", "淑贞", "建明", "静怡", "树坤", "美华", "汉荣")


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
        return [*_local_deciders(station, roles.VILLAGE_AGENT,
                                 names["villages"].get(station.code) or f"{station.name[:30]}代办员"), admin]
    if station.tier == TOWNSHIP:
        return [*_local_deciders(station, roles.TOWNSHIP_STAFF,
                                 names["townships"].get(station.code) or f"{station.name[:30]}工作人员"), admin]
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


def _local_deciders(station, role, first_name):
    """The village's agents or the township's staff: the named first, two colleagues."""
    people, taken = [], {first_name}
    for n, username in enumerate(LOCAL_DECIDERS[station.tier]):
        name = first_name if n == 0 else _made_up_name(station.code, username, taken)
        taken.add(name)
        people.append({"username": username, "role": role, "department": None, "name": name})
    return people


def _made_up_name(code, username, taken):
    """A name chosen by the station code and username (the same every time), not in `taken`."""
    seed = int.from_bytes(hashlib.sha256(f"{code}/{username}".encode()).digest()[:8], "big")
    for attempt in range(len(_SURNAMES) * len(_GIVEN)):
        pick = (seed + attempt * 7919) % (len(_SURNAMES) * len(_GIVEN))
        name = _SURNAMES[pick // len(_GIVEN)] + _GIVEN[pick % len(_GIVEN)]
        if name not in taken:
            return name
    return f"{username}（{code}）"


def seed_station(database, station, network, names_path=None, password=SAMPLE_PASSWORD):
    """Create the staff a station lacks; returns how many accounts were made. Their
    password is everyone's (SAMPLE_PASSWORD): each must choose their own at the first
    login before doing anything else."""
    made = 0
    for person in station_staff(network, station, names_path):
        with database.transaction() as session:
            if session.get(User, person["username"]) is None:
                Accounts(session, station, network).add({**person, "password": password}, must_change_password=True)
                made += 1
    return made
