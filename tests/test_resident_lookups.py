"""Residents' lookups cannot be guessed (issue 13, point 1; the district lookup of point 7).

What an attacker at the residents' door tries, and what stops it:
- guessing a case's query code (查询码): 5 failures per case number, or 30 per client
  address, within an hour answer 429 with Retry-After (in Chinese on the desk); the
  resident's right code works again once the hour has passed (the counted rows are aged
  here, not slept through);
- telling which case numbers exist: a wrong code and an unknown case answer the same
  body after the same time (medians over 50 tries each), although one is checked at the
  station and the other asks the district;
- finding the code in a URL: lookups are POSTs, a GET is refused;
- rating someone else's case: the rating takes the query code, a wrong one changes nothing;
- reading the code or more than the masked name: the code is kept only hashed and
  shown once; the public answer has no ID number, phone or full name;
- a slow district stalling the gateway: its lookups are bounded in time and number.
"""
import json
import datetime as dt
import os
import re
import statistics
import time

import eventlet
import pytest
import requests
from eventlet.semaphore import Semaphore
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from services.gateway.records import LOOKUP_SECONDS_KEY, RecordsClient
from shared.cases import lookup_limits, query_codes
from shared.db.models import ResidentLookupAttempt
from shared.exceptions import TooManyAttempts
from tests.test_case_network import (
    DISTRICT, NORTH_VILLAGE, SOUTH, SOUTH_VILLAGE, completed_case, filing, running_case_network, wait_until,
)

DISTRICT_SECONDS = 0.2  # the district's time to answer a lookup, in these tests
FLOOR = DISTRICT_SECONDS + 0.25  # services/gateway/residents.py failure_floor
NOW = dt.datetime(2026, 12, 2, 9, 0)


# -- the code and the limits, as plain Python --------------------------------------------------------
def test_a_query_code_is_random_unambiguous_and_kept_only_as_a_salted_hash():
    codes = {query_codes.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 8 and not set(c) & set("01OIL") for c in codes)
    code, sealed = query_codes.new_sealed()
    again = query_codes.seal(code)
    assert sealed["salt"] != again["salt"] and sealed["hash"] != again["hash"]  # salted per case
    assert code not in str(sealed)
    assert query_codes.matches(sealed, code) and query_codes.matches(again, code)
    typed = query_codes.normalize(f" {code[:4].lower()}-{code[4:]} ")  # as a resident may type it
    assert typed == code and query_codes.matches(sealed, typed)
    assert not query_codes.matches(sealed, query_codes.new_code())
    assert not query_codes.matches(None, code)  # no case: the same work, never a match
    assert query_codes.normalize("ABCD0FGH") is None and query_codes.normalize("ABC") is None
    case = query_codes.attach({"case_no": "x"}, sealed)
    assert query_codes.without_seal(case) == {"case_no": "x"}


def test_five_failures_per_case_and_thirty_per_address_within_an_hour(memory_db):
    def attempt(case_no, client, now, ok=False):
        with memory_db.transaction() as session:
            attempt_id = lookup_limits.begin(session, case_no, client, now)
            if ok:
                lookup_limits.succeeded(session, attempt_id)

    for minute in range(5):
        attempt("C1", "10.0.0.1", NOW + dt.timedelta(minutes=minute))
    with pytest.raises(TooManyAttempts) as refused:
        attempt("C1", "10.0.0.2", NOW + dt.timedelta(minutes=10), ok=True)  # the right code, another address
    assert refused.value.retry_after == 50 * 60  # the first failure leaves the window at 10:00
    assert "请 50 分钟后再试" in refused.value.message
    attempt("C2", "10.0.0.1", NOW + dt.timedelta(minutes=10), ok=True)  # another case is not locked
    # refused attempts are not counted: an hour after the failures, the right code works
    attempt("C1", "10.0.0.2", NOW + dt.timedelta(minutes=60, seconds=1), ok=True)

    for i in range(30):  # one address, many case numbers
        attempt(f"D{i // 4}", "10.0.0.9", NOW + dt.timedelta(minutes=2 * 60, seconds=i))
    with pytest.raises(TooManyAttempts):
        attempt("D99", "10.0.0.9", NOW + dt.timedelta(minutes=2 * 60 + 5))
    attempt("D99", "10.0.0.8", NOW + dt.timedelta(minutes=2 * 60 + 5), ok=True)
    with memory_db.reading() as session:  # old rows are pruned as new lookups come
        oldest = session.scalar(select(ResidentLookupAttempt.at).order_by(ResidentLookupAttempt.at))
    assert oldest >= NOW + dt.timedelta(minutes=60)


def test_a_slow_district_never_holds_more_than_a_few_lookups_nor_for_long():
    class SlowDistrict:
        """The district's cases service answering after 5 s."""
        in_flight = most = 0

        def find(self, case_no, query_code):
            SlowDistrict.in_flight += 1
            SlowDistrict.most = max(SlowDistrict.most, SlowDistrict.in_flight)
            try:
                eventlet.sleep(5)
            finally:
                SlowDistrict.in_flight -= 1

    client = RecordsClient(SlowDistrict(), Semaphore(4), 0.3)
    started = time.monotonic()
    pool = eventlet.GreenPool(20)
    answers = list(pool.imap(lambda i: client.lookup(f"N{i}", "ABCDEFGH"), range(20)))
    assert answers == [(False, None)] * 20
    assert time.monotonic() - started < 1.5 and SlowDistrict.most == 4


# -- over HTTP, against running stations ---------------------------------------------------------------
@pytest.fixture(scope="module")
def net(amqp_uri):
    os.environ[LOOKUP_SECONDS_KEY] = str(DISTRICT_SECONDS)  # the station processes read it
    try:
        with running_case_network() as network:
            yield network
    finally:
        os.environ.pop(LOOKUP_SECONDS_KEY, None)


def held_case(net):
    """A case held at the south village (waiting for a core material): (number, code)."""
    case = net.post(SOUTH_VILLAGE, "/api/cases", filing("MZ-002", ["M01", "M02"]))
    assert case["status"] == "needs_supplement" and case["holder_station"] == SOUTH_VILLAGE
    return case["case_no"], case["query_code"]


def ask(net, station, case_no, code):
    return net.http.post(net.launcher.url_of(station) + "/api/status",
                         json={"case_no": case_no, "query_code": code}, timeout=10)


def wrong_code(right):
    return next(c for c in (query_codes.new_code() for _ in range(5)) if c != right)


def forget_attempts(net, station):
    with net.database(station).begin() as connection:
        connection.execute(delete(ResidentLookupAttempt))


def age_attempts(net, station, by=dt.timedelta(minutes=61)):
    """An hour passes for the counted failures."""
    with Session(net.database(station)) as session, session.begin():
        for row in session.scalars(select(ResidentLookupAttempt)):
            row.at -= by


def log_of(net, station):
    return net.process_of(station).log_path


def test_the_code_is_answered_once_and_stored_only_hashed(net):
    case_no, code = held_case(net)
    assert query_codes.normalize(code) == code
    case = net.case(SOUTH_VILLAGE, case_no)
    assert "query_code" not in case and query_codes.SEAL_FIELD not in case  # staff never see it again
    with net.database(SOUTH_VILLAGE).connect() as connection:
        stored = connection.execute(text("SELECT snapshot FROM cases WHERE case_no = :n"), {"n": case_no}).scalar()
    stored = stored if isinstance(stored, str) else json.dumps(stored)  # PostgreSQL's JSON column gives a dict
    assert code not in stored and '"query_code_seal"' in stored
    wait_until(lambda: ask(net, NORTH_VILLAGE, case_no, code).status_code == 200, 15,
               message="the district's copy opening with the code")


def test_public_answers_show_no_personal_data_but_the_masked_name(net):
    body = filing("MZ-002", ["M01", "M02"])
    case = net.post(SOUTH_VILLAGE, "/api/cases", body)
    person = body["applicant"]
    for station in (SOUTH_VILLAGE, NORTH_VILLAGE):  # its own copy, and the district's answer
        answer = wait_until(lambda: (r := ask(net, station, case["case_no"], case["query_code"])).ok and r, 15,
                            message=f"the answer at {station}")
        view = answer.json()
        assert view["applicant_name"] == person["name"][0] + "*" * (len(person["name"]) - 1)
        for secret in (person["name"], person["id_number"], person["phone"], person["id_number"][-4:]):
            assert secret not in answer.text, secret
        assert "notice" not in view and view["to_bring"]  # the materials to bring, not the notice's salutation


def test_guessing_a_code_is_refused_after_five_failures_and_the_right_code_works_an_hour_later(net):
    forget_attempts(net, SOUTH_VILLAGE)
    case_no, code = held_case(net)
    log = log_of(net, SOUTH_VILLAGE)
    log_start = os.path.getsize(log)
    bodies = set()
    for _ in range(5):
        answer = ask(net, SOUTH_VILLAGE, case_no, wrong_code(code))
        assert answer.status_code == 404
        bodies.add(answer.text)
    assert len(bodies) == 1
    for guess in (wrong_code(code), code):  # locked: even the right code waits
        answer = ask(net, SOUTH_VILLAGE, case_no, guess)
        assert answer.status_code == 429 and answer.json()["error"] == "TOO_MANY_ATTEMPTS"
        assert 3000 < int(answer.headers["Retry-After"]) <= 3600
    # the desk says so in Chinese
    desk = ResidentDesk(net, SOUTH_VILLAGE)
    page = desk.look_up(case_no, code)
    assert page.status_code == 429 and "查询失败次数过多" in page.text and page.headers["Retry-After"]
    assert 'id="status-result"' not in page.text
    # each failed guess logged one line, no traceback
    with open(log, encoding="utf-8", errors="replace") as handle:
        handle.seek(log_start)
        written = handle.read()
    assert written.count("resident lookup refused") == 5 and "Traceback" not in written

    age_attempts(net, SOUTH_VILLAGE)
    answer = ask(net, SOUTH_VILLAGE, case_no, code)
    assert answer.status_code == 200 and answer.json()["case_no"] == case_no


def test_thirty_failures_from_one_address_lock_it_out_for_every_case(net):
    forget_attempts(net, SOUTH_VILLAGE)
    case_no, code = held_case(net)
    for i in range(30):  # a different number each time: no case reaches its own limit
        assert ask(net, SOUTH_VILLAGE, f"{SOUTH_VILLAGE}-20261202-{90000 + i}", "ABCDEFGH").status_code == 404
    answer = ask(net, SOUTH_VILLAGE, case_no, code)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 3000
    age_attempts(net, SOUTH_VILLAGE)
    assert ask(net, SOUTH_VILLAGE, case_no, code).status_code == 200


def test_a_wrong_code_and_an_unknown_case_answer_alike_in_body_and_time(net):
    forget_attempts(net, SOUTH_VILLAGE)
    held, code = held_case(net)  # checked at the village itself
    passed_on, other = completed_case(net)  # the village asks the district: not held here
    bodies = {
        "wrong code, held here": ask(net, SOUTH_VILLAGE, held, wrong_code(code)),
        "wrong code, held elsewhere": ask(net, SOUTH_VILLAGE, passed_on, wrong_code(other)),
        "unknown case": ask(net, SOUTH_VILLAGE, f"{SOUTH_VILLAGE}-20261202-99999", code),
        "unknown at another station": ask(net, NORTH_VILLAGE, held, wrong_code(code)),
    }
    assert {r.status_code for r in bodies.values()} == {404}
    assert len({r.text for r in bodies.values()}) == 1, {k: r.text for k, r in bodies.items()}

    def timed(case_no, guess):
        forget_attempts(net, SOUTH_VILLAGE)  # 100 failures from one address: not what is measured here
        started = time.perf_counter()
        assert ask(net, SOUTH_VILLAGE, case_no, guess).status_code == 404
        return time.perf_counter() - started

    wrong, unknown = [], []
    for i in range(50):  # interleaved, so a busy moment of the machine falls on both
        wrong.append(timed(held, wrong_code(code)))
        unknown.append(timed(f"{SOUTH_VILLAGE}-20261202-{80000 + i}", code))
    wrong_median, unknown_median = statistics.median(wrong), statistics.median(unknown)
    # without the floor: ~3 ms here against ~30 ms through the district
    assert abs(wrong_median - unknown_median) < 0.005, (wrong_median, unknown_median)
    assert min(wrong + unknown) >= FLOOR


def test_lookups_are_posts_nothing_secret_goes_in_a_url(net):
    case_no, code = held_case(net)
    url = net.launcher.url_of(SOUTH_VILLAGE)
    refused = net.http.get(url + "/api/status", params={"case_no": case_no, "query_code": code}, timeout=10)
    assert refused.status_code == 405 and "POST" in refused.json()["message"] and case_no not in refused.text
    desk = ResidentDesk(net, SOUTH_VILLAGE)
    page = desk.session.get(url + "/desk/status", params={"case_no": case_no, "query_code": code}, timeout=10)
    assert page.ok and 'id="status-result"' not in page.text  # a code in the URL is ignored
    assert re.search(r'<form method="post" action="/desk/status"', page.text)
    found = desk.look_up(case_no, code)
    assert found.status_code == 200 and 'id="status-result"' in found.text and case_no in found.text
    wrong = desk.look_up(case_no, wrong_code(code))
    assert wrong.status_code == 404 and "未找到" in wrong.text


def test_a_rating_takes_the_query_code_and_a_wrong_one_changes_nothing(net):
    case_no, code = completed_case(net)
    net.post(SOUTH_VILLAGE, f"/api/cases/{case_no}/deliver", {})
    before = net.case(SOUTH_VILLAGE, case_no)

    def rate(guess):
        return net.http.post(net.launcher.url_of(SOUTH_VILLAGE) + "/api/status/rating",
                             json={"case_no": case_no, "query_code": guess, "score": 1, "comment": "差"}, timeout=10)

    wrong = rate(wrong_code(code))
    assert wrong.status_code == 404 and net.case(SOUTH_VILLAGE, case_no) == before
    old_style = net.http.post(net.launcher.url_of(SOUTH_VILLAGE) + "/api/status/rating",
                              json={"case_no": case_no, "id_last4": "1234", "score": 1}, timeout=10)
    assert old_style.status_code == 400 and net.case(SOUTH_VILLAGE, case_no) == before
    rated = rate(code)
    assert rated.status_code == 200 and rated.json()["rating"] == 1
    assert net.case(SOUTH_VILLAGE, case_no)["rating"]["score"] == 1


def test_a_new_code_replaces_the_old_one_here_and_at_the_district(net):
    case_no, old = held_case(net)
    refused = net.call("POST", NORTH_VILLAGE, f"/api/cases/{case_no}/query-code")
    assert refused.status_code in (404, 409)  # only the counter holding the case issues one
    issued = net.call("POST", SOUTH_VILLAGE, f"/api/cases/{case_no}/query-code")
    assert issued.status_code == 200
    new = issued.json()["query_code"]
    assert new != old and query_codes.normalize(new) == new
    assert ask(net, SOUTH_VILLAGE, case_no, new).status_code == 200
    assert ask(net, SOUTH_VILLAGE, case_no, old).status_code == 404
    assert net.case(SOUTH_VILLAGE, case_no)["history"][-1]["action"] == "reissue_query_code"
    # the district's copy learns it with the case's record: asked elsewhere, the same
    wait_until(lambda: ask(net, NORTH_VILLAGE, case_no, new).status_code == 200, 15,
               message="the new code at the district")
    assert ask(net, NORTH_VILLAGE, case_no, old).status_code == 404


def test_without_the_district_a_lookup_answers_from_the_stations_copy_or_503_never_hangs(net):
    """Last in this module: the district is stopped."""
    forget_attempts(net, SOUTH)
    case_no, code = completed_case(net)  # the township kept a copy when it passed the case on
    wait_until(lambda: ask(net, SOUTH, case_no, code).status_code == 200, 15, message="the district's answer")
    net.kill(DISTRICT)
    started = time.monotonic()
    copy = ask(net, SOUTH, case_no, code)
    assert copy.status_code == 200 and copy.json()["case_no"] == case_no  # from the township's own copy
    wrong = ask(net, SOUTH, case_no, wrong_code(code))
    unknown = ask(net, SOUTH, f"{SOUTH}-20261202-99999", code)
    assert wrong.status_code == unknown.status_code == 503 and wrong.text == unknown.text
    assert time.monotonic() - started < 3 * (FLOOR + 0.5)


class ResidentDesk:
    """A resident's browser at a station's status page (form token included)."""

    def __init__(self, net, station):
        self.url = net.launcher.url_of(station)
        self.session = requests.Session()

    def look_up(self, case_no, code):
        form = self.session.get(self.url + "/desk/status", timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]*)"', form.text).group(1)
        return self.session.post(self.url + "/desk/status", timeout=10,
                                 data={"csrf_token": token, "case_no": case_no, "query_code": code})
