"""The notice sender and its channels (shared/notices/sender.py, channels.py;
services/notices.py), on the suite's database, against a local SMS gateway started by
the test (tests/support/sms_receiver.py: it checks each POST's signature and, like real
gateways, delivers one SMS per out_id).

Exactly once is shown from both sides: the gateway delivers each notice once, and a
notice is POSTed again only when the sender could not know it had gone (killed between
the POST and the mark), with the same out_id. A gateway outage delays notices; none is
lost. Time is the test's: the sender's clock is moved by hand (no timed asserts)."""
import datetime as dt
import json

import eventlet
import pytest

from services.cases import online
from services.gateway.service import GatewayService
from services.outbox_sweeper import OutboxSweeperService
from services.config import AUDIT_COPY_KEY, RELAY_SWEEP_KEY
from services.hall import HALL_SWEEP_KEY
from services.notices import NOTICE_SWEEP_KEY, NoticeDesk
from shared.auth import roles
from shared.db.models import ResidentNotice, utcnow
from shared.exceptions import TooManyAttempts
from shared.notices import channels, one_time_codes, sender as sender_module
from shared.notices.channels import FileChannel, SmsChannel, channel_from
from shared.notices.outbox import add_notice
from shared.notices.sender import LEASE, NoticeSender
from tests.support.inprocess import (  # noqa: F401 (station_url and station_factory are fixtures)
    DISTRICT, SOUTH_VILLAGE, declare_rpc_exchange, service_config, station_factory, station_url,
)
from tests.support.sample_files import pdf
from tests.support.sms_receiver import SmsReceiver
from tests.test_pre_review_desk import application

STATION = "449902001201"
MOBILE = "13800138000"
KEY, SECRET, SIGN = "tongban-test", "test-secret-短信", "揭东区政务服务"


class SenderKilled(BaseException):
    """The sender's process dies (nothing catches it)."""


class HandClock:
    """Real time plus an offset moved by hand (the outbox's due times are real time)."""

    def __init__(self):
        self.offset = dt.timedelta(0)

    def __call__(self):
        return utcnow() + self.offset

    def advance(self, **delta):
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def gateway():
    with SmsReceiver(KEY, SECRET) as receiver:
        yield receiver


@pytest.fixture
def clock():
    return HandClock()


def sms(gateway, secret=SECRET):
    return SmsChannel(gateway.url, KEY, secret, SIGN, timeout=5)


def result_ready(db, n, mobile=MOBILE):
    case_no = f"{STATION}-20260302-{n:05d}"
    with db.transaction() as session:
        return add_notice(session, "result_ready", mobile,
                          {"name": "黄秀英", "item": "个体工商户设立登记", "case_no": case_no, "outcome": "准予登记",
                           "station": "南村便民服务站"}, case_no=case_no)


def rows(db):
    with db.transaction() as session:     # (its rows stay readable after commit)
        return {r.notice_id: r for r in session.query(ResidentNotice).all()}


def posts_of(gateway, notice_id):
    return [p for p in gateway.posts if p and p.get("out_id") == notice_id]


def test_each_notice_reaches_the_gateway_once_signed_and_is_marked_sent(memory_db, gateway, clock):
    ids = [result_ready(memory_db, n) for n in range(1, 4)]
    sender = NoticeSender(memory_db, sms(gateway), STATION, clock)
    assert sender.send_due() == 3
    assert sender.send_due() == 0                          # nothing is sent twice
    assert set(gateway.delivered) == set(ids) and len(gateway.posts) == 3 and gateway.refused == []
    sent = gateway.delivered[ids[0]]
    assert (sent["mobile"], sent["template_id"], sent["sign_name"], sent["app_key"]) == (
        MOBILE, "TB_RESULT_READY_01", SIGN, KEY)
    assert sent["params"]["outcome"] == "准予登记" and sent["params"]["case_no"].endswith("-00001")
    assert all(r.sent_at is not None and r.attempts == 1 and r.failed_reason is None for r in rows(memory_db).values())


def test_a_wrong_secret_is_refused_by_the_gateway_and_the_notice_waits(memory_db, gateway, clock):
    [notice_id] = [result_ready(memory_db, 1)]
    assert NoticeSender(memory_db, sms(gateway, secret="not-the-secret"), STATION, clock).send_due() == 0
    assert gateway.delivered == {} and [problem for _, problem in gateway.refused] == ["signature"]
    row = rows(memory_db)[notice_id]
    assert row.sent_at is None and "HTTP 400 REFUSED signature" in row.failed_reason
    clock.advance(seconds=sender_module.FIRST_BACKOFF + 1)
    assert NoticeSender(memory_db, sms(gateway), STATION, clock).send_due() == 1
    assert list(gateway.delivered) == [notice_id]


def test_a_sender_killed_between_the_post_and_the_mark_sends_again_with_the_same_out_id(memory_db, gateway, clock):
    first, second = result_ready(memory_db, 1), result_ready(memory_db, 2)

    class DiesAfterTheFirstPost(NoticeSender):
        def _mark_sent(self, notice):
            raise SenderKilled(notice["notice_id"])

    with pytest.raises(SenderKilled):
        DiesAfterTheFirstPost(memory_db, sms(gateway), STATION, clock).send_due()
    assert list(gateway.delivered) == [first] and rows(memory_db)[first].sent_at is None

    restarted = NoticeSender(memory_db, sms(gateway), STATION, clock)
    assert restarted.send_due() == 1                      # the second; the first is still claimed
    assert len(posts_of(gateway, first)) == 1
    clock.advance(seconds=LEASE.total_seconds() + 1)      # the dead sender's claim runs out
    assert restarted.send_due() == 1
    assert len(posts_of(gateway, first)) == 2             # POSTed again, with the same out_id ...
    assert set(gateway.delivered) == {first, second}      # ... and delivered once
    assert all(r.sent_at is not None for r in rows(memory_db).values())
    assert rows(memory_db)[first].attempts == 2 and restarted.send_due() == 0


def test_a_gateway_outage_delays_notices_and_none_is_lost_or_sent_twice(memory_db, gateway, clock):
    ids = [result_ready(memory_db, n) for n in range(1, 4)]
    sender = NoticeSender(memory_db, sms(gateway), STATION, clock)
    gateway.down(5)                                        # the first try of each, then two more
    assert sender.send_due() == 0
    waiting = rows(memory_db)
    assert all(r.sent_at is None and r.attempts == 1 and "HTTP 503 SERVICE_UNAVAILABLE" in r.failed_reason
               for r in waiting.values())
    assert sender.send_due() == 0 and len(gateway.posts) == 3   # not due before the backoff
    clock.advance(seconds=sender_module.FIRST_BACKOFF + 1)
    assert sender.send_due() == 1                          # two more 503s, the third goes
    clock.advance(seconds=sender_module.backoff(2) + 1)
    assert sender.send_due() == 2
    assert set(gateway.delivered) == set(ids) and len(gateway.posts) == 3 + 3 + 2
    assert sorted(r.attempts for r in rows(memory_db).values()) == [2, 3, 3]
    assert all(r.sent_at is not None and r.failed_reason is None for r in rows(memory_db).values())


def test_an_unreachable_gateway_is_tried_again_with_growing_waits(memory_db, clock):
    notice_id = result_ready(memory_db, 1)
    with SmsReceiver(KEY, SECRET) as gone:
        url = gone.url                                     # a port nothing listens on once closed
    sender = NoticeSender(memory_db, SmsChannel(url, KEY, SECRET, SIGN, timeout=2), STATION, clock)
    waits = []
    for attempt in range(1, 5):
        before = clock()
        assert sender.send_due() == 0
        row = rows(memory_db)[notice_id]
        assert row.attempts == attempt and "unreachable" in row.failed_reason
        waits.append(round((row.next_attempt_at - before).total_seconds()))
        clock.advance(seconds=waits[-1] + 1)
    assert waits == [15, 30, 60, 120]
    assert sender_module.backoff(20) == sender_module.MAX_BACKOFF


def test_two_senders_at_once_post_each_notice_once(station_url, gateway, clock):
    station, _ = station_url(DISTRICT)        # a database two connections share (not an in-memory one)
    ids = [result_ready(station.database, n) for n in range(1, 11)]
    a, b = (NoticeSender(station.database, sms(gateway), STATION, clock) for _ in range(2))
    counts = [t.wait() for t in [eventlet.spawn(a.send_due), eventlet.spawn(b.send_due)]]
    assert sum(counts) == 10 and len(gateway.posts) == 10 and set(gateway.delivered) == set(ids)


def test_a_one_time_code_notice_is_given_up_once_the_code_is_dead_and_forgets_the_code(memory_db, gateway, clock):
    with memory_db.transaction() as session:
        notice_id = one_time_codes.issue(session, STATION, MOBILE, "portal", "198.51.100.7")
    sender = NoticeSender(memory_db, sms(gateway), STATION, clock)
    gateway.down(100)
    for _ in range(sender_module.CODE_ATTEMPTS + 1):
        sender.send_due()
        clock.advance(seconds=sender_module.MAX_BACKOFF)
    row = rows(memory_db)[notice_id]
    assert len(gateway.posts) == sender_module.CODE_ATTEMPTS and gateway.delivered == {}
    assert row.abandoned_at is not None and row.sent_at is None and "given up" in row.failed_reason
    assert row.params["code"] == "******"


def test_without_a_channel_notices_wait_in_the_outbox(memory_db, clock):
    notice_id = result_ready(memory_db, 1)
    assert NoticeSender(memory_db, None, STATION, clock).send_due() == 0
    row = rows(memory_db)[notice_id]
    assert row.sent_at is None and row.attempts == 0


def test_the_file_channel_writes_one_file_per_notice_with_its_text(memory_db, tmp_path, clock):
    ids = [result_ready(memory_db, n) for n in range(1, 3)]

    class DiesAfterTheFirstWrite(NoticeSender):
        def _mark_sent(self, notice):
            raise SenderKilled(notice["notice_id"])

    channel = FileChannel(tmp_path / "sms", sign=SIGN)
    with pytest.raises(SenderKilled):
        DiesAfterTheFirstWrite(memory_db, channel, STATION, clock).send_due()
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert NoticeSender(memory_db, channel, STATION, clock).send_due() == 2
    files = sorted((tmp_path / "sms").iterdir())
    assert [f.name for f in files] == sorted(f"{i}.json" for i in ids)
    record = json.loads(files[0].read_text(encoding="utf-8"))
    assert record["mobile"] == MOBILE and record["kind"] == "result_ready"
    assert record["text"].startswith("【揭东区政务服务】黄秀英您好，您申请的“个体工商户设立登记”")


def test_a_steps_notices_leave_at_once_even_when_the_relay_fails_after_its_commit(station_factory, tmp_path,
                                                                                     clock):
    """The broker is down as the counter answers a pre-review: the answer is committed, the
    relay's publish fails (the sweep publishes the message later), and the resident's
    notice still leaves at once rather than waiting for the notice sweep."""
    village = station_factory(SOUTH_VILLAGE)
    case_no = online.apply(village.desk, application(village, "13700001111"), [("M01", "a.pdf", pdf())])["case_no"]
    channel = FileChannel(tmp_path / "sms", sign=SIGN)
    village.desk.notices = NoticeDesk(village.database, NoticeSender(village.database, channel, SOUTH_VILLAGE, clock),
                                      SOUTH_VILLAGE)

    def broker_down(exchange, routing_key, envelope):
        raise ConnectionError("the broker is down")
    village.relay.publish = broker_down
    clerk = village.user(roles.VILLAGE_AGENT, username="agent")
    with pytest.raises(ConnectionError):
        online.answer(village.desk, case_no, {"answer": "supplement", "materials": ["M02"]}, clerk)
    assert village.case(case_no)["pre_review"]["answers"][-1]["answer"] == "supplement"   # committed
    [sent] = [json.loads(f.read_text(encoding="utf-8")) for f in (tmp_path / "sms").iterdir()]
    assert (sent["kind"], sent["mobile"]) == ("supplement_needed", "13700001111")


@pytest.mark.parametrize("spec, settings, problem", [
    ("smtp:somewhere", {}, "must be file:<directory> or sms:<http(s) url>"),
    ("sms:ftp://gateway", {}, "must be file:<directory> or sms:<http(s) url>"),
    ("sms:https://sms.example.cn/send", {channels.APP_KEY_KEY: "k"}, "needs TONGBAN_SMS_APP_SECRET, TONGBAN_SMS_SIGN"),
])
def test_a_channel_setting_that_makes_no_sense_is_named(spec, settings, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        channel_from(spec, settings)


def test_channel_settings_choose_the_channel(tmp_path):
    assert channel_from("", {}) is None
    assert isinstance(channel_from(f"file:{tmp_path}", {}), FileChannel)
    chosen = channel_from("sms:https://sms.example.cn/send", {channels.APP_KEY_KEY: "k", channels.APP_SECRET_KEY: "s",
                                                             channels.SIGN_KEY: SIGN})
    assert isinstance(chosen, SmsChannel) and chosen.url == "https://sms.example.cn/send"


# -- the station: the codes API and the housekeeping timer ---------------------------------------
def notice_settings(gateway):
    return {channels.CHANNEL_KEY: f"sms:{gateway.url}", channels.APP_KEY_KEY: KEY, channels.APP_SECRET_KEY: SECRET,
            channels.SIGN_KEY: SIGN, one_time_codes.KEY_ENV: "district-code-key"}


def test_the_codes_api_answers_alike_sends_the_code_once_and_limits_asks(container_factory, web_config, web_session,
                                                                         station_url, gateway):
    declare_rpc_exchange()
    station, url = station_url(DISTRICT)
    container = container_factory(GatewayService, service_config(DISTRICT, url, **web_config,
                                                                 **notice_settings(gateway)))
    container.start()

    def ask(mobile, client="198.51.100.7"):
        return web_session.post("/api/portal/codes", json={"mobile": mobile}, timeout=10,
                                headers={"X-Forwarded-For": client})

    first, other = ask(MOBILE), ask("13900139000")
    assert first.status_code == other.status_code == 202 and first.json() == other.json()
    assert first.json()["valid_seconds"] == 300 and "验证码已发送" in first.json()["message"]
    [sent] = gateway.texts_to(MOBILE)
    assert sent["template_id"] == "TB_CODE_01" and len(sent["params"]["code"]) == 6

    again = ask(MOBILE, client="203.0.113.5")             # a minute has not passed
    assert again.status_code == 429 and 0 < int(again.headers["Retry-After"]) <= 60
    assert again.json()["error"] == "TOO_MANY_ATTEMPTS" and "秒后再试" in again.json()["message"]
    assert len(gateway.texts_to(MOBILE)) == 1

    bad = ask("1380013800")
    assert bad.status_code == 400 and "mobile" in bad.json()["message"]

    # the portal checks the code through the gateway's NoticeDesk
    [notices] = [p for p in container.dependencies if p.attr_name == "notices"]
    assert notices.desk.check_code(MOBILE, sent["params"]["code"]) is True
    assert notices.desk.check_code(MOBILE, sent["params"]["code"]) is False      # used once
    with station.database.reading() as session:
        kept = session.query(ResidentNotice).filter_by(mobile=MOBILE).one()
        assert kept.sent_at is not None and kept.params["code"] == "******"


def test_the_housekeeping_timer_sends_what_a_flush_missed(container_factory, station_url, gateway):
    station, url = station_url(DISTRICT)
    ids = [result_ready(station.database, n) for n in range(1, 3)]
    container = container_factory(OutboxSweeperService, service_config(
        DISTRICT, url, **{NOTICE_SWEEP_KEY: 0.05, HALL_SWEEP_KEY: 60, RELAY_SWEEP_KEY: 60, AUDIT_COPY_KEY: 60},
        **notice_settings(gateway)))
    container.start()
    for _ in range(400):  # until the timer has run (a bound, not a speed assert)
        if len(gateway.delivered) == 2:
            break
        eventlet.sleep(0.05)
    assert set(gateway.delivered) == set(ids)
    eventlet.sleep(0.2)                                    # a few more sweeps send nothing again
    assert len(gateway.posts) == 2


# -- appointment reminders ---------------------------------------------------------------------
def test_the_next_working_days_appointments_are_reminded_once_by_day_only(station_url, gateway):
    from services.hall import HallDesk
    from services.notices import NoticeDesk, remind_appointments
    from shared.cases.citizen_id import make as make_id
    from tests.support.inprocess import TZ

    station, _ = station_url(DISTRICT, now=dt.datetime(2026, 3, 2, 7, 0, tzinfo=TZ))   # Monday, early
    hall = HallDesk(station.database, station.info, station.clock)
    booked = [hall.book({"name": "黄秀英", "id_number": make_id("449902", dt.date(1960, 5, 1), n), "mobile": mobile,
                         "day": day, "half_day": half_day, "window_type": "A"})
              for n, (mobile, day, half_day) in enumerate([(MOBILE, "2026-03-03", "am"),
                                                            ("13900139000", "2026-03-03", "pm"),
                                                            ("13700137000", "2026-03-04", "am")], 1)]
    notices = NoticeDesk(station.database, NoticeSender(station.database, sms(gateway), DISTRICT), DISTRICT)
    assert remind_appointments(hall, notices) == []        # 07:00: no SMS before 09:00
    station.clock.advance(hours=2)
    assert len(remind_appointments(hall, notices)) == 2    # Tuesday's two, not Wednesday's
    assert remind_appointments(hall, notices) == []        # the timer runs again: nothing new
    reminded = {p["mobile"]: p for p in gateway.delivered.values()}
    assert set(reminded) == {MOBILE, "13900139000"} and len(gateway.posts) == 2
    first = reminded[MOBILE]
    assert first["template_id"] == "TB_APPOINTMENT_01" and first["params"]["booking_no"] == booked[0]["booking_no"]
    assert (first["params"]["day"], first["params"]["half_day"]) == ("3月3日", "上午")
    assert reminded["13900139000"]["params"]["half_day"] == "下午"


def test_concurrent_asks_for_one_mobile_issue_one_code(station_url):
    """Eight asks at once for one mobile (from eight addresses): one code, seven 429s. On
    PostgreSQL each ask has a session of its own, without the process's write lock (several
    processes may serve one station): the database's advisory locks keep them in line."""
    from tests.support.databases import ON_POSTGRESQL

    station, _ = station_url(DISTRICT)
    db = station.database

    def ask(n):
        session = db.sessions() if ON_POSTGRESQL else None
        try:
            if session is None:
                with db.transaction() as own:
                    one_time_codes.issue(own, DISTRICT, MOBILE, "portal", f"203.0.113.{n}")
            else:
                one_time_codes.issue(session, DISTRICT, MOBILE, "portal", f"203.0.113.{n}")
                eventlet.sleep(0.01)           # hold the transaction open while the others ask
                session.commit()
            return "issued"
        except TooManyAttempts:
            return "refused"
        finally:
            if session is not None:
                session.rollback()
                session.close()

    answers = [t.wait() for t in [eventlet.spawn(ask, n) for n in range(8)]]
    assert sorted(answers) == ["issued"] + ["refused"] * 7
    with db.reading() as session:
        assert session.query(ResidentNotice).count() == 1
