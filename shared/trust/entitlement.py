"""Which station may send which message: the rules a receiving station applies once the
broker has proven who sent a message (shared/trust/identities.py).

A message that breaks a rule raises `NotEntitled` naming the sender and the rule; the
consumer moves it to the dead-letter queue with that reason, and nothing is changed.
The rules follow the life of a case (shared/cases/workflow.py):

| message | receiver | who may send it |
|---|---|---|
| hand-off (`case.handover`) | the case's new holder | the station before it on the case's route (filing station → ... → deciding station, one tier at a time) |
| result (`case.result`) | the filing station, its new holder | the deciding station, handing the decided case back |
| case record (`case.record`) at the district | district | the station holding the case by the district's own record (the filing station for a case it has not seen), never for a case the district holds |
| case record elsewhere | the filing station | the deciding station holding the case (a supplement notice's copy) |
| supplement (`case.supplement`) | the deciding station | the case's filing station |
| extension decision, supervision alert | the holder | the district |
| catalogue change | every replica | the district |
| access-audit copy (`audit.copy`) | district | the station whose entries they all are (shared/audit/) |
| hall visit (`hall.visit`) | district | the station whose hall it was, about its own ticket or appointment (shared/hall/) |
| material file (`case.file`) | the next station on the case's route | a station before it on that route (shared/materials_files/) |
| file asked again (`case.file_request`) | a station on the case's route | the next station after it on that route |
| online application's file (`case.file`, `case.file_request`) | the receiving counter (the portal) | the portal that took the application (the counter), named by its case number |
| online application (`case.online_application`) | the counter the resident chose | the station whose portal took it, numbering it in that portal's own range at the receiver, for an item the receiver's counter accepts online (shared/cases/online_application.py) |

A case also carries its item as it was when the case was filed (name, limits, materials,
who decides...). A receiver does not trust that copy: `check_item` compares it with its own
catalogue at that item version, so a sender cannot shorten a limit or move the decision.

A compromised village can therefore still damage the cases it files or holds (it is their
counter), and nothing else.
"""
import json

from shared.cases import online_application
from shared.cases.pre_review import online_mode
from shared.cases.routing import next_hop, route
from shared.cases.workflow import ITEM_FIELDS
from shared.exceptions import NotFound, TongbanError
from shared.messages import (
    AUDIT_COPY, CASE_ALERT, CASE_EXTENSION_DECISION, CASE_FILE, CASE_FILE_REQUEST, CASE_HANDOVER, CASE_RECORD,
    CASE_RESULT, CASE_SUPPLEMENT, CATALOGUE_CHANGE, HALL_VISIT,
)
from shared.stations import DISTRICT, ancestor_at, tier_of


class NotEntitled(TongbanError):
    """A proven sender sent something it may not send."""


class WaitForRecord(Exception):
    """A record from a station the district does not yet know as the holder: it may be
    the new holder whose record overtook the previous holder's; keep it until the
    district's record says so (or a newer one makes it stale)."""


class CatalogueBehind(Exception):
    """The receiver's catalogue has not reached the item version a case carries yet: the
    message is tried again once the catalogue has caught up."""


def _refuse(sender, rule):
    raise NotEntitled(f"refused a message from station {sender}: {rule}")


def check_case_identity(sender, case):
    """A case's number begins with its filing station's code."""
    case_no, filing = case.get("case_no"), case.get("filing_station")
    if not isinstance(case_no, str) or not isinstance(filing, str) or not case_no.startswith(filing + "-"):
        _refuse(sender, f"case {case_no!r} does not belong to its filing station {filing!r}")


def check_handover(sender, receiver, case):
    """A hand-off makes `receiver` the case's holder."""
    check_case_identity(sender, case)
    if case.get("holder_station") != receiver:
        _refuse(sender, f"a hand-off of case {case['case_no']} must make this station its holder")
    filing, deciding = case["filing_station"], case.get("deciding_station")
    if not isinstance(deciding, str):
        _refuse(sender, f"case {case['case_no']} has no deciding station to route to")
    try:
        path = route(filing, deciding)
    except Exception:
        _refuse(sender, f"case {case['case_no']} has no route from {filing} to {deciding}")
    if sender in path[:-1] and next_hop(sender, deciding) == receiver:
        return  # forwarded up, or routed down, one tier at a time
    _refuse(sender, f"only the station before this one on case {case['case_no']}'s route "
                    f"({' → '.join(path)}) may hand it here")


def check_result(sender, receiver, case):
    """A decided case travels back from its deciding station to its filing station, which
    becomes its holder again."""
    check_case_identity(sender, case)
    if case.get("holder_station") != receiver or receiver != case["filing_station"]:
        _refuse(sender, f"the result of case {case['case_no']} goes back to its filing station "
                        f"{case['filing_station']}, which holds it again")
    if sender != case.get("deciding_station"):
        _refuse(sender, f"only the deciding station of case {case['case_no']} returns its result")


def check_record(sender, receiver, case, known):
    """A copy of a case for the district's record (`known`: the district's copy, or
    None), or for the filing station's. WaitForRecord when the sender may be a new
    holder the district has not heard of yet."""
    check_case_identity(sender, case)
    district = ancestor_at(receiver, DISTRICT)
    if receiver != district:
        if receiver == case["filing_station"] and sender == case.get("deciding_station") \
                and case.get("holder_station") == sender:
            return
        _refuse(sender, f"a copy of case {case['case_no']} reaches its filing station only from "
                        f"the deciding station that holds it")
    if known is None:
        if sender == case["filing_station"]:
            return
        raise WaitForRecord(sender)
    if known["holder_station"] == district:
        _refuse(sender, f"the district holds case {case['case_no']}; no other station may record it")
    if known["holder_station"] == sender:
        return
    if case.get("holder_station") == sender:
        raise WaitForRecord(sender)
    _refuse(sender, f"case {case['case_no']} is held at {known['holder_station']} by the district's record, "
                    f"not at {sender}")


def check_item(sender, case, catalogue):
    """The item a case carries must be the receiver's catalogue item at that version
    (`catalogue` answers version() and item_at_version(code, version))."""
    item = case.get("item") if isinstance(case.get("item"), dict) else {}
    code, version = item.get("code"), item.get("version")
    if not isinstance(code, str) or not isinstance(version, int):
        _refuse(sender, f"case {case.get('case_no')} carries no item code and version")
    if catalogue.version() < version:
        raise CatalogueBehind(f"case {case.get('case_no')} was filed under catalogue version {version}; "
                              f"this station has {catalogue.version()}")
    try:
        listed = catalogue.item_at_version(code, version)
    except NotFound:
        _refuse(sender, f"case {case.get('case_no')} carries item {code}, which the catalogue did not have "
                        f"at version {version}")
    expected = {k: listed.get(k) for k in ITEM_FIELDS}
    if _canonical(expected) != _canonical({k: item.get(k) for k in ITEM_FIELDS}) or set(item) - set(ITEM_FIELDS):
        changed = sorted(k for k in set(ITEM_FIELDS) | set(item)
                         if _canonical(item.get(k)) != _canonical(expected.get(k)))
        _refuse(sender, f"case {case.get('case_no')} carries item {code} (version {version}) unlike the "
                        f"catalogue's: {', '.join(changed)}")


def _canonical(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def check_supplement(sender, body, known):
    case_no = body.get("case_no")
    filing = known["filing_station"] if known else (case_no or "").split("-")[0]
    if sender != filing or body.get("station") != sender:
        _refuse(sender, f"materials for case {case_no} are handed in only at its filing station {filing}")


def check_from_district(sender, receiver, kind):
    if sender != ancestor_at(receiver, DISTRICT):
        _refuse(sender, f"a {kind} comes only from the district")


def check_audit_copy(sender, receiver, body):
    """A station's access-audit entries reach the district only from that station: one
    station cannot write (or blame another for) entries in another's name."""
    district = ancestor_at(receiver, DISTRICT)
    if receiver != district or sender == district or not sender.startswith(district):
        _refuse(sender, "access-audit copies go from a station of the district to the district")
    entries = body.get("entries") if isinstance(body, dict) else None
    if not isinstance(entries, list) or body.get("station") != sender:
        _refuse(sender, "an access-audit copy carries the sending station's own entries")
    stations = {e.get("station") if isinstance(e, dict) else None for e in entries}
    others = sorted(str(s) for s in stations if s != sender)
    if others:
        _refuse(sender, f"access-audit entries of station(s) {', '.join(others)} come only from that station")


def check_hall_visit(sender, receiver, body):
    """A closed visit to a station's hall reaches the district only from that station,
    about its own ticket or appointment (and a case filed from the ticket is one of its
    own): one station cannot swell or shrink another's waiting times."""
    district = ancestor_at(receiver, DISTRICT)
    if receiver != district or sender == district or not sender.startswith(district):
        _refuse(sender, "hall visits go from a station of the district to the district")
    if not isinstance(body, dict) or body.get("station") != sender:
        _refuse(sender, f"a hall visit of station {body.get('station') if isinstance(body, dict) else '?'} "
                        f"comes only from that station")
    case_no = body.get("case_no")
    if case_no is not None and not str(case_no).startswith(sender + "-"):
        _refuse(sender, f"a hall visit of station {sender} names case {case_no}, which it did not file")


def _file_route(sender, body, known):
    """(filing station, deciding station, route) of the case a file message is about: the
    filing station from the case number, the deciding station from the receiver's copy of
    the case if it has one (the message's must agree), else from the message."""
    case_no = body.get("case_no") if isinstance(body, dict) else None
    filing = str(case_no or "").split("-")[0]
    deciding = body.get("deciding_station") if isinstance(body, dict) else None
    if known is not None:
        if known.get("deciding_station") != deciding:
            _refuse(sender, f"case {case_no} is decided at {known.get('deciding_station')}, not at {deciding}")
    if not filing or not isinstance(deciding, str):
        _refuse(sender, f"a file message names no case and deciding station ({case_no!r}, {deciding!r})")
    try:
        return route(filing, deciding)
    except Exception:
        _refuse(sender, f"case {case_no} has no route from {filing} to {deciding}")


def check_case_file(sender, receiver, body, known=None):
    """A case's file reaches the next station on the case's route, from a station before
    it on that route (a file travels as its case does, one tier at a time)."""
    if _from_its_portal(sender, receiver, body):
        return
    path = _file_route(sender, body, known)
    if sender in path[:-1] and next_hop(sender, path[-1]) == receiver:
        return
    _refuse(sender, f"only the station before this one on case {body.get('case_no')}'s route "
                    f"({' → '.join(path)}) may send its files here")


def _from_its_portal(sender, receiver, body):
    """A file of an online application goes from the portal that took it (and numbered
    it, in its own range at the receiver) to the counter that receives it."""
    parsed = online_application.parse(body.get("case_no") if isinstance(body, dict) else None)
    return parsed is not None and parsed[0] == receiver and parsed[2] == sender != receiver


def check_online_application(sender, receiver, body, catalogue):
    """An online application reaches the counter the resident chose from the station
    whose portal took it: a station of the district other than the receiver, naming
    itself as the portal and the receiver as the counter, with a case number in its own
    range at the receiver (so it can neither take the receiver's own numbers nor another
    portal's), for an item the receiver's catalogue accepts online at the receiver's tier
    (`catalogue` answers version() and get(code); CatalogueBehind when the receiver has not
    reached the portal's item version yet). A compromised station can thus put
    applications in another counter's pre-review worklist — what any resident with a
    mobile can do at a portal — and nothing else: it can change no existing case."""
    district = ancestor_at(receiver, DISTRICT)
    case_no = body.get("case_no")
    if sender == receiver or not sender.startswith(district):
        _refuse(sender, "an online application comes from another station's portal of the district")
    if body.get("portal_station") != sender or body.get("receiving_station") != receiver:
        _refuse(sender, f"online application {case_no} names portal {body.get('portal_station')} and counter "
                        f"{body.get('receiving_station')}: only portal {sender} may send its own applications, "
                        f"and only to the counter they name")
    parsed = online_application.parse(case_no)
    if parsed is None or parsed[0] != receiver or parsed[2] != sender:
        _refuse(sender, f"online application {case_no!r} is not numbered in portal {sender}'s range at station "
                        f"{receiver} ({receiver}-YYYYMMDD-{sender}-NNNNN)")
    if catalogue.version() < body["item_version"]:
        raise CatalogueBehind(f"online application {case_no} was made under catalogue version "
                              f"{body['item_version']}; this station has {catalogue.version()}")
    try:
        item = catalogue.get(body["item_code"])
    except NotFound:
        _refuse(sender, f"online application {case_no} is for item {body['item_code']}, which the catalogue "
                        f"does not have")
    if online_mode(item) == "none" or tier_of(receiver) not in (item.get("accepting_tiers") or ()):
        _refuse(sender, f"station {receiver} does not accept item {item['code']} online; online application "
                        f"{case_no} is refused")


def check_file_request(sender, receiver, body, known=None):
    """A file asked again comes from the next station on the case's route."""
    if _from_its_portal(receiver, sender, body):
        return  # the counter that received an online application asks its portal again
    path = _file_route(sender, body, known)
    if receiver in path[:-1] and next_hop(receiver, path[-1]) == sender:
        return
    _refuse(sender, f"only the next station on case {body.get('case_no')}'s route "
                    f"({' → '.join(path)}) may ask this station for its files")


def check(kind, sender, receiver, body, known=None):
    """Dispatch on the message kind; `known` is the receiver's copy of the case, if any."""
    if kind == CASE_HANDOVER:
        check_handover(sender, receiver, body["case"])
    elif kind == CASE_RESULT:
        check_result(sender, receiver, body["case"])
    elif kind == CASE_RECORD:
        check_record(sender, receiver, body["case"], known)
    elif kind == CASE_SUPPLEMENT:
        check_supplement(sender, body, known)
    elif kind == AUDIT_COPY:
        check_audit_copy(sender, receiver, body)
    elif kind == HALL_VISIT:
        check_hall_visit(sender, receiver, body)
    elif kind == CASE_FILE:
        check_case_file(sender, receiver, body, known)
    elif kind == CASE_FILE_REQUEST:
        check_file_request(sender, receiver, body, known)
    elif kind in (CASE_EXTENSION_DECISION, CASE_ALERT, CATALOGUE_CHANGE):
        check_from_district(sender, receiver, kind)
    else:
        _refuse(sender, f"unknown message kind {kind!r}")
