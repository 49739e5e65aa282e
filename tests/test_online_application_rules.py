"""The choice of receiving counter for an online application made at another station's
portal (issue 16), as plain Python without a broker or database: which stations accept an
item, the resident's own station by default, the portal's number range at the receiver,
and who may send a `case.online_application` (and its files) to whom — what a forging
station could try is refused."""
import datetime as dt

import pytest

from services.config import load_network
from shared.cases import online_application
from shared.contract import CASE_ONLINE_APPLICATION, InvalidMessage, dump_message, load_message, outgoing_errors
from shared.exceptions import InvalidInput, NotFound
from shared.trust import entitlement
from tests.support.inprocess import DISTRICT, NETWORK_PATH, NORTH, NORTH_VILLAGE, SOUTH, SOUTH_VILLAGE

NETWORK = load_network(str(NETWORK_PATH))
DAY = dt.date(2026, 3, 2)
EVERYWHERE = {"code": "RS-005", "name": "失业登记", "version": 3, "online": "pre_review",
              "accepting_tiers": ["district", "township", "village"]}
NOT_IN_VILLAGES = {"code": "ZJ-005", "name": "全程网办事项", "version": 3, "online": "full",
                   "accepting_tiers": ["district", "township"]}
COUNTER_ONLY = {"code": "MZ-002", "name": "窗口事项", "version": 3, "online": "none",
                "accepting_tiers": ["district", "township", "village"]}
SEAL = {"scheme": "scrypt", "n": 8192, "r": 8, "p": 1, "salt": "c2FsdA==", "hash": "aGFzaA=="}
SHA = "ab" * 32


class Catalogue:
    """The receiver's catalogue as the rule reads it: version() and get(code)."""

    def __init__(self, *items, version=3):
        self.items = {i["code"]: i for i in items}
        self._version = version

    def version(self):
        return self._version

    def get(self, code):
        if code not in self.items:
            raise NotFound(code)
        return self.items[code]


def body(portal=DISTRICT, receiver=SOUTH_VILLAGE, item=EVERYWHERE, number=None, **changes):
    request = {"applicant": {"name": "黄秀英", "id_number": "449902196203140011", "phone": "13800138000",
                             "residence": SOUTH_VILLAGE},
               "delivery": {"method": "counter", "address": ""}, "materials": ["M02", "M01"]}
    files = [{"sha256": SHA, "material": "M01", "media_type": "application/pdf", "size": 1234}]
    moment = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)
    made = online_application.body(number or online_application.case_no(receiver, DAY, portal, 7), portal,
                                   receiver, item, request, SEAL, files, moment, moment)
    return {**made, **changes}


# -- which counter ---------------------------------------------------------------------------------
def test_the_counters_offered_are_the_stations_of_the_accepting_tiers():
    assert [s.code for s in online_application.accepting_stations(NETWORK, NOT_IN_VILLAGES)] == [DISTRICT, SOUTH, NORTH]
    assert len(online_application.accepting_stations(NETWORK, EVERYWHERE)) == len(NETWORK.stations)


def test_by_default_the_residents_own_village_or_its_nearest_ancestor_that_accepts_the_item():
    assert online_application.default_counter(NETWORK, EVERYWHERE, SOUTH_VILLAGE, DISTRICT) == SOUTH_VILLAGE
    assert online_application.default_counter(NETWORK, NOT_IN_VILLAGES, SOUTH_VILLAGE, NORTH_VILLAGE) == SOUTH
    # without a residence of the district: the portal's own station if it accepts the item
    assert online_application.default_counter(NETWORK, EVERYWHERE, "", NORTH_VILLAGE) == NORTH_VILLAGE
    assert online_application.default_counter(NETWORK, NOT_IN_VILLAGES, "999999", NORTH_VILLAGE) == DISTRICT


def test_a_chosen_counter_must_accept_the_item():
    assert online_application.choose_counter(NETWORK, EVERYWHERE, NORTH_VILLAGE, SOUTH_VILLAGE, DISTRICT) == NORTH_VILLAGE
    assert online_application.choose_counter(NETWORK, EVERYWHERE, "", SOUTH_VILLAGE, DISTRICT) == SOUTH_VILLAGE
    with pytest.raises(InvalidInput, match="does not accept"):
        online_application.choose_counter(NETWORK, NOT_IN_VILLAGES, NORTH_VILLAGE, SOUTH_VILLAGE, DISTRICT)
    with pytest.raises(InvalidInput, match="does not accept"):  # not a station of the district at all
        online_application.choose_counter(NETWORK, EVERYWHERE, "449999001001", SOUTH_VILLAGE, DISTRICT)


# -- the number --------------------------------------------------------------------------------------
def test_the_portal_numbers_in_its_own_range_at_the_receiver_and_the_number_says_so():
    number = online_application.case_no(SOUTH_VILLAGE, DAY, NORTH_VILLAGE, 12)
    assert number == f"{SOUTH_VILLAGE}-20260302-{NORTH_VILLAGE}-00012" and len(number) <= 40
    assert number.startswith(SOUTH_VILLAGE + "-")  # its filing station's code, as every case number
    assert online_application.parse(number) == (SOUTH_VILLAGE, "20260302", NORTH_VILLAGE, 12)
    assert online_application.portal_of(number) == NORTH_VILLAGE
    assert online_application.portal_of(f"{SOUTH_VILLAGE}-20260302-00012") is None  # a counter's own number
    assert online_application.sequence_day(DAY) == "W260302" and len(online_application.sequence_day(DAY)) <= 8


def test_the_message_follows_the_contract_and_a_broken_one_is_refused_by_field():
    message = dump_message(CASE_ONLINE_APPLICATION, body(), DISTRICT)
    assert outgoing_errors(message) == {}
    assert load_message(message)["body"]["files"][0]["sha256"] == SHA
    broken = dump_message(CASE_ONLINE_APPLICATION, body(), DISTRICT)
    del broken["body"]["query_code_seal"]
    broken["body"]["item_version"] = "three"
    with pytest.raises(InvalidMessage, match="query_code_seal") as refused:
        load_message(broken)
    assert "item_version" in refused.value.message


# -- who may send it ----------------------------------------------------------------------------------
def test_the_portal_that_took_it_may_send_it_to_the_counter_it_names():
    entitlement.check_online_application(DISTRICT, SOUTH_VILLAGE, body(), Catalogue(EVERYWHERE))
    # a village's portal for another township's village: every portal serves the whole district
    entitlement.check_online_application(NORTH_VILLAGE, SOUTH_VILLAGE, body(portal=NORTH_VILLAGE),
                                         Catalogue(EVERYWHERE))


@pytest.mark.parametrize("sender, made, rule", [
    # a station sending what another portal took (and numbered)
    (NORTH_VILLAGE, body(), "only portal"),
    # a station claiming to be the portal but numbering in another's range, or taking the
    # receiver's own numbers (which would overwrite one of its cases)
    (NORTH_VILLAGE, body(portal=NORTH_VILLAGE, number=f"{SOUTH_VILLAGE}-20260302-{DISTRICT}-00007"), "range"),
    (NORTH_VILLAGE, body(portal=NORTH_VILLAGE, number=f"{SOUTH_VILLAGE}-20260302-00007"), "range"),
    # for another counter than the one receiving it
    (DISTRICT, body(receiver=SOUTH), "only portal"),
    # to itself, or from outside the district
    (SOUTH_VILLAGE, body(portal=SOUTH_VILLAGE), "another station"),
    ("449999", body(portal="449999"), "another station"),
    # for an item the receiver does not accept, or not online
    (DISTRICT, body(item=NOT_IN_VILLAGES), "does not accept"),
    (DISTRICT, body(item=COUNTER_ONLY), "does not accept"),
])
def test_what_a_forging_station_could_send_is_refused(sender, made, rule):
    with pytest.raises(entitlement.NotEntitled, match=rule):
        entitlement.check_online_application(sender, SOUTH_VILLAGE, made,
                                             Catalogue(EVERYWHERE, NOT_IN_VILLAGES, COUNTER_ONLY))


def test_a_receiver_whose_catalogue_is_behind_waits_for_it():
    with pytest.raises(entitlement.CatalogueBehind):
        entitlement.check_online_application(DISTRICT, SOUTH_VILLAGE, body(), Catalogue(EVERYWHERE, version=2))


def test_its_files_go_from_the_portal_to_the_counter_and_are_asked_again_by_the_counter_only():
    number = online_application.case_no(SOUTH_VILLAGE, DAY, DISTRICT, 7)
    file_body = {"case_no": number, "deciding_station": SOUTH_VILLAGE, "sha256": SHA, "material": "M01"}
    entitlement.check_case_file(DISTRICT, SOUTH_VILLAGE, file_body)
    entitlement.check_file_request(SOUTH_VILLAGE, DISTRICT, file_body)
    with pytest.raises(entitlement.NotEntitled):  # another station cannot slip files into it
        entitlement.check_case_file(NORTH_VILLAGE, SOUTH_VILLAGE, file_body)
    with pytest.raises(entitlement.NotEntitled):  # nor ask the portal for them
        entitlement.check_file_request(NORTH_VILLAGE, DISTRICT, file_body)
