"""Record one fixture per message a release sends, by running cases through stations in
one process (tests/support/message_capture.py, on tests/support/inprocess.py's stations)
and keeping what their relays publish.

    .venv/bin/python tests/data/messages/capture.py tests/data/messages/v<N>

Run it in a checkout of the release whose messages are to be recorded (see README.md in
this folder, also for a release older than tests/support/inprocess.py); it writes
`NN-<kind>-<stage>.json` files and replaces none it did not make.
"""
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from district.catalogue_editing import CatalogueDesk  # noqa: E402
from district.supervision_desk import SupervisionDesk  # noqa: E402
from services.access_audit import AuditTrail, copy_to_district  # noqa: E402
from shared.calendar import WorkingDayCalendar  # noqa: E402
from shared.cases.citizen_id import make as make_id  # noqa: E402
from shared.db.database import Database  # noqa: E402
from shared.hall.store import HallStore  # noqa: E402
from shared.stations import Network  # noqa: E402
from tests.support.message_capture import InProcessNetwork, case_no_of  # noqa: E402

NETWORK = Network.load(ROOT / "tests" / "cases_data" / "network_cases.yaml")
DISTRICT, SOUTH, SOUTH_VILLAGE = "449902", "449902001", "449902001201"
STATIONS = (DISTRICT, SOUTH, SOUTH_VILLAGE)
ID_NUMBER = make_id("449902", dt.date(1962, 3, 14), 4)

AGENT = {"username": "agent", "name": "林代办", "role": "village_agent", "department": None,
         "station": SOUTH_VILLAGE}
TOWNSHIP = {"username": "south", "name": "陈镇员", "role": "township_staff", "department": None,
            "station": SOUTH}
TOWNSHIP_2 = {"username": "south2", "name": "吴镇员", "role": "township_staff", "department": None,
            "station": SOUTH}
CLERK = {"username": "clerk", "name": "区窗口", "role": "window_clerk", "department": None, "station": DISTRICT}
REVIEWER = {"username": "reviewer", "name": "审查员", "role": "reviewer", "department": "civil_affairs",
            "station": DISTRICT}
APPROVER = {"username": "approver", "name": "审批员", "role": "approver", "department": "civil_affairs",
            "station": DISTRICT}

MATERIALS = [{"code": "M01", "name": "申请书", "kind": "core", "copies": 1},
             {"code": "M02", "name": "身份证", "kind": "core", "copies": 1},
             {"code": "M03", "name": "病历资料", "kind": "secondary", "copies": 1}]
DISTRICT_ITEM = {
    "code": "MZ-002", "name": "最低生活保障申请", "department": "civil_affairs", "category": "public_service",
    "processing_type": "promised", "legal_limit_days": 20, "promised_limit_days": 5,
    "authority_tier": "district", "accepting_tiers": ["district", "township", "village"],
    "allows_deficiency": True, "materials": MATERIALS, "keywords": ["低保"],
    "guide": {"where": "各级便民服务窗口", "how_long": "5个工作日", "how_much": "不收费"}}
TOWNSHIP_ITEM = {
    **DISTRICT_ITEM, "code": "MZ-010", "name": "临时救助申请", "authority_tier": "township",
    "decision_steps": ["approve"], "promised_limit_days": 3, "legal_limit_days": 10}


def filing(code, materials, **extra):
    return {"item_code": code, "materials": materials, "note": "",
            "applicant": {"name": "黄秀英", "id_number": ID_NUMBER, "phone": "13812345678",
                          "residence": SOUTH_VILLAGE}, **extra}


def run(databases=None):
    """The cases below, on `databases` ({station code: empty Database}; in-memory SQLite
    ones when not given); returns the InProcessNetwork, whose `sent` lists every message."""
    if databases is None:
        databases = {code: Database("sqlite://") for code in STATIONS}
        for db in databases.values():
            db.create_schema()
    net = InProcessNetwork(NETWORK, databases)
    district, township, village = net[DISTRICT], net[SOUTH], net[SOUTH_VILLAGE]

    # the catalogue: additions, an edit, a retirement and a holiday schedule
    catalogue = CatalogueDesk(district.database, district.relay, set(NETWORK.departments), DISTRICT)
    catalogue.add(DISTRICT_ITEM, "管理员")
    catalogue.add(TOWNSHIP_ITEM, "管理员")
    catalogue.add({**DISTRICT_ITEM, "code": "MZ-099", "name": "停用事项"}, "管理员")
    catalogue.edit("MZ-002", {"keywords": ["低保", "最低生活保障"]}, "管理员")
    catalogue.retire("MZ-099", "管理员")
    catalogue.publish_schedule({"year": 2027, "holidays": ["2027-01-01"], "workdays": []}, "管理员")
    net.deliver_all()

    # A: filed at a village with a secondary material missing (容缺), forwarded through the
    # township to the district, suspended there (补正), supplemented at the village,
    # reviewed, approved, the result back at the village, delivered and rated
    a = village.desk.file(filing("MZ-002", ["M01", "M02"], deficiency_promise=True), AGENT)["case_no"]
    net.deliver_all()
    district.desk.suspend(a, {"materials": ["M02"], "reason": "身份证复印件不清晰"}, REVIEWER)
    net.deliver_all()
    net.clock.advance(days=1)
    village.desk.supplement(a, {"materials": ["M02", "M03"]}, AGENT)
    net.deliver_all()
    district.desk.decide(a, {"step": "review", "outcome": "pass", "department": "civil_affairs"}, REVIEWER)
    district.desk.decide(a, {"step": "approve", "outcome": "pass", "department": "civil_affairs"}, APPROVER)
    net.deliver_all()
    village.desk.deliver(a, {}, AGENT)
    village.desk.rate(a, {"score": 5, "comment": "办事很方便", "by": "黄秀英"}, AGENT)
    net.deliver_all()

    # B: a township item filed at the village: the township asks for an extension, the
    # district grants it, the district's patrol sends a card, the township approves
    b = village.desk.file(filing("MZ-010", ["M01", "M02", "M03"]), AGENT)["case_no"]
    net.deliver_all()
    township.desk.request_extension(b, {"days": 2, "reason": "需要入户核查"}, TOWNSHIP)
    net.deliver_all()
    district.desk.decide_extension(b, {"granted": True, "reason": "同意延期"}, APPROVER)
    net.deliver_all()
    net.clock.advance(days=14)
    SupervisionDesk(district.database, district.relay, district.info, net.clock).patrol()
    net.deliver_all()
    township.desk.decide(b, {"step": "approve", "outcome": "pass", "department": "civil_affairs"}, TOWNSHIP_2)
    net.deliver_all()

    # C: a township item filed at the district's window is routed down to the township;
    # D: a filing missing a core material waits for a supplement (one notice)
    district.desk.file(filing("MZ-010", ["M01", "M02", "M03"]), CLERK)
    village.desk.file(filing("MZ-002", ["M01"]), AGENT)
    net.deliver_all()

    # the village's access audit: a full view of a case, copied to the district
    AuditTrail(village.database, village.info, None).full_view(AGENT, village.desk.get(a, AGENT))
    copy_to_district(village.relay, village.info)
    net.deliver_all()

    # the village's hall: a ticket issued, called and finished, its visit reported to the district
    with village.database.transaction() as session:
        hall = HallStore(session, SOUTH_VILLAGE, NETWORK, WorkingDayCalendar(), net.clock)
        ticket = hall.issue("walk_in", "黄秀英", ID_NUMBER, window_type="A", user=AGENT)
        hall.call_next("A", "1", AGENT)
        hall.finish(ticket["id"], user=AGENT)
    village.relay.flush()
    net.deliver_all()

    # E: filed at the village with a scan uploaded at filing: the file follows the case to
    # the township and the district (case.file); a corrupted copy reaching the township is
    # not kept and asked again from the village (case.file_request)
    from shared.materials_files.transfer import CorruptedTransfer
    from tests.support.sample_files import png
    village.desk.file(filing("MZ-002", ["M01", "M02", "M03"]), AGENT,
                      uploads=[("M01", "身份证.png", png())])
    first_file = next(s.message for s in net.sent if s.message["kind"] == "case.file")
    tampered = {**first_file, "message_id": first_file["message_id"][:-4] + "0bad",
                "body": {**first_file["body"], "content": first_file["body"]["content"][:-8] + "AAAAAA=="}}
    try:
        township.receive(tampered)
    except CorruptedTransfer:
        pass
    net.deliver_all()

    # F: applied for online at the district's portal for the village's counter (the SMS
    # code checked by the portal): the application and its file go to the village
    # (case.online_application, case.file), which files it for its pre-review
    from services import online_applications
    from shared.cases import query_codes
    catalogue.add({**DISTRICT_ITEM, "code": "MZ-020", "name": "网上预审事项", "online": "pre_review"}, "管理员")
    net.deliver_all()
    request = {**filing("MZ-020", ["M01"]), "delivery": {"method": "counter", "address": ""},
               "agent": "申请人（网上申请）"}
    online_applications.send(district.desk, request, [("M01", "申请书.png", png(shade=0x40))], SOUTH_VILLAGE,
                             query_codes.seal("ABCD2345"))
    net.deliver_all()
    return net


def stage(sent):
    """What a case message is about: the last step in the case's history, else its kind."""
    body = sent.message["body"]
    case = body.get("case") if isinstance(body, dict) else None
    if case and case.get("history"):
        return case["history"][-1]["action"]
    if sent.message["kind"] == "catalogue.change":
        return body["kind"]
    if sent.message["kind"] == "case.alert":
        return body["kind"]
    return None


def write(net, folder):
    folder.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    for n, sent in enumerate(net.sent, start=1):
        label = stage(sent)
        name = f"{n:02d}-{sent.message['kind']}" + (f"-{label}" if label else "") + ".json"
        fixture = {
            "captured_from": commit, "delivered_at": sent.delivered_at,
            "exchange": sent.exchange, "routing_key": sent.routing_key, "receiver": sent.receiver,
            "case_no": case_no_of(sent.message),
            "receiver_case_before": sent.case_before, "receiver_case_after": sent.case_after,
            "message": sent.message,
        }
        (folder / name).write_text(json.dumps(fixture, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                   encoding="utf-8")
        print(name)


if __name__ == "__main__":
    write(run(), Path(sys.argv[1]))
