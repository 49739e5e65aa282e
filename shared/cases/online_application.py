"""An online application for another station's counter (issue 16): the resident applies at
any station's portal (网上办事大厅) and names the counter that will receive it — any
station that accepts the item, their own village (or township) by default.

* **Which counters.** `accepting_stations`: every station of a tier the catalogue lets
  accept the item (`accepting_tiers`). `default_counter`: the resident's own station, the
  township or village they give as where they live (`applicant.residence`, the form's
  户籍或居住地), or, when it does not accept the item, its nearest ancestor that does
  (a township item for a villager: their township); without a residence, the portal's own
  station if it accepts the item. `choose_counter` checks a resident's choice.
* **The case number.** Case numbers are made without asking anyone (shared/cases/store.py)
  and begin with their filing station's code. An application for another counter is
  numbered by the portal, in a range of its own at the receiver:
  `<receiver>-<YYYYMMDD>-<portal>-<seq>` (`case_no`, `parse`). The portal shows it with
  the query code at once, as a counter's receipt would; no other station can number in
  that range, since the receiver accepts it only from the portal it names (entitlement).
* **The message** (`case.online_application`, shared/contract.py): `body` builds it at the
  portal; `filing_request` turns it back into the filing request the receiver's workflow
  files (`pre_review.apply_online`), so the receiver checks the item, its tier, the
  materials and the delivery itself, under its own catalogue, exactly as at its own
  portal. The files follow as `case.file` messages (shared/materials_files/transfer.py).

Plain Python; no nameko, no database.
"""
import re

from shared.cases import pre_review
from shared.exceptions import InvalidInput
from shared.stations import parent_of

AGENT = "申请人（网上申请）"  # as an application at the counter's own portal (services/cases/online.py)
SEQUENCE_PREFIX = "W"  # the portal's day counter for other counters: "W" + YYMMDD (case_sequences.day, 8 chars)
_NUMBER = re.compile(r"^(\d{6}|\d{9}|\d{12})-(\d{8})-(\d{6}|\d{9}|\d{12})-(\d{5,})$")


def case_no(receiver, day, portal, sequence):
    """The number of an application made at `portal` for `receiver`'s counter on `day`."""
    return f"{receiver}-{day.strftime('%Y%m%d')}-{portal}-{sequence:05d}"


def sequence_day(day):
    """The key of the portal's own counter for such numbers (apart from its own cases')."""
    return SEQUENCE_PREFIX + day.strftime("%y%m%d")


def parse(number):
    """(receiver, YYYYMMDD, portal, sequence) of a number made by `case_no`, else None."""
    match = _NUMBER.match(number or "") if isinstance(number, str) else None
    if match is None:
        return None
    receiver, day, portal, sequence = match.groups()
    return receiver, day, portal, int(sequence)


def portal_of(number):
    """The station whose portal numbered this case for another counter, or None."""
    parsed = parse(number)
    return parsed[2] if parsed else None


def accepting_stations(network, item):
    """The stations whose counters accept `item`, in the network's order."""
    tiers = set(item.get("accepting_tiers") or ())
    return [s for s in network.stations.values() if s.tier in tiers]


def default_counter(network, item, residence, portal):
    """The code of the counter an application goes to when the resident names none: the
    station where they live, or its nearest ancestor that accepts the item; without a
    residence of the district, the portal's own station if it accepts the item; else the
    first station that does. None if no station accepts it."""
    accepting = {s.code for s in accepting_stations(network, item)}
    code = residence if residence in network.stations else None
    while code is not None:
        if code in accepting:
            return code
        code = parent_of(code)
    if portal in accepting:
        return portal
    return next(iter(s.code for s in accepting_stations(network, item)), None)


def choose_counter(network, item, chosen, residence, portal):
    """The receiving counter: `chosen` (a station code, or empty for the default), checked
    to be a station that accepts the item (InvalidInput otherwise)."""
    chosen = (chosen or "").strip()
    if not chosen:
        code = default_counter(network, item, residence, portal)
        if code is None:
            raise InvalidInput(f"counter: no station accepts “{item['name']}”", {"counter": ["none accepts"]})
        return code
    if chosen not in {s.code for s in accepting_stations(network, item)}:
        raise InvalidInput(f"counter: {chosen} does not accept “{item['name']}”; choose a station that does "
                           f"(受理窗口须为可受理该事项的站点)", {"counter": ["not a station accepting the item"]})
    return chosen


def check_sendable(network, item, request):
    """What the portal checks of an application for another station's counter before the
    resident's SMS code is used up (services/cases/online.py `receiving_counter`), and
    again as it sends it: the residence is a township or village of this district, the
    item is applied for online with this delivery (pre_review.check_application).
    Returns (online mode, delivery)."""
    residence = request["applicant"]["residence"]
    if residence not in network.stations:
        raise InvalidInput(f"applicant.residence: {residence} is not a township or village of this district",
                           {"applicant": {"residence": ["not a township or village of this district"]}})
    return pre_review.check_application(item, request)


def body(number, portal, receiver, item, request, seal, files, applied_at, verified_at):
    """The `case.online_application` body: the application as the portal took it.
    `request`: the checked form (applicant, delivery, note, materials); `files`: the
    listings of the files kept at the portal (shared/materials_files/store.file_view)."""
    return {"case_no": number, "portal_station": portal, "receiving_station": receiver,
            "item_code": item["code"], "item_version": item["version"],
            "applicant": dict(request["applicant"]), "delivery": dict(request["delivery"]),
            "note": request.get("note", ""), "materials": sorted(set(request["materials"])),
            "files": [{"sha256": f["sha256"], "material": f["material"], "media_type": f["media_type"],
                       "size": f["size"]} for f in files],
            "query_code_seal": seal, "applied_at": applied_at.isoformat(), "mobile_verified_at": verified_at.isoformat()}


def filing_request(body):
    """The filing request the receiving counter's workflow files (pre_review.apply_online)."""
    return {"item_code": body["item_code"], "applicant": dict(body["applicant"]), "delivery": dict(body["delivery"]),
            "note": body.get("note") or "", "materials": list(body["materials"]), "agent": AGENT}


def mark_received(case, body, portal_name):
    """What the receiving counter's case keeps of its way in: the portal it came through
    (`online.portal`, shown to the counter and recorded in the district's copy), the
    files it must wait for (`files`), and a line of history."""
    case["online"]["portal"] = body["portal_station"]
    if body["files"]:
        case["files"] = [dict(f) for f in body["files"]]
    entry = case["history"][-1]
    entry["reason"] += f"（经{portal_name}网上办事大厅提交）"
    return case

