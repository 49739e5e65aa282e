"""Notices to residents and one-time codes (shared/notices/), on the suite's database:
the outbox's rules (a notice commits or rolls back with its change; the templates' rules),
and the one-time codes' expiry, tries and limits. The sender and its channels are in
tests/test_notices_sending.py."""
import datetime as dt

import pytest

from shared.db.models import OneTimeCode, ResidentNotice
from shared.exceptions import InvalidInput, TooManyAttempts
from shared.notices import one_time_codes as codes, templates
from shared.notices.outbox import add_notice, backlog, for_case, mark_sent

STATION = "449902001201"
CASE_NO = f"{STATION}-20260302-00001"
MOBILE = "13800138000"
NOW = dt.datetime(2026, 3, 2, 1, 30)   # UTC
ACCEPTED = {"name": "黄秀英", "item": "城乡居民基本养老保险参保登记", "station": "南村便民服务站",
            "case_no": CASE_NO, "due_date": "2026-03-06"}


class Failed(Exception):
    pass


def code_of(session, notice_id):
    row = session.query(ResidentNotice).filter_by(notice_id=notice_id).one()
    return row.params["code"]


# -- the outbox ------------------------------------------------------------------------
def test_a_notice_commits_with_its_change_and_names_its_template(memory_db):
    with memory_db.transaction() as session:
        notice_id = add_notice(session, "acceptance", MOBILE, ACCEPTED, case_no=CASE_NO)
    with memory_db.reading() as session:
        [row] = for_case(session, CASE_NO)
        assert (row.notice_id, row.kind, row.template_id, row.station) == (
            notice_id, "acceptance", "TB_ACCEPTANCE_01", STATION)
        assert row.params == ACCEPTED and row.sent_at is None and row.attempts == 0
        assert backlog(session) == 1
    text = templates.render("acceptance", ACCEPTED, sign="揭东区政务服务")
    assert text.startswith("【揭东区政务服务】黄秀英您好，您申请的“城乡居民基本养老保险参保登记”已在南村便民服务站受理")
    assert CASE_NO in text


def test_a_notice_rolls_back_with_its_change(memory_db):
    with pytest.raises(Failed):
        with memory_db.transaction() as session:
            add_notice(session, "acceptance", MOBILE, ACCEPTED, case_no=CASE_NO)
            raise Failed("the change failed after its notice was written")
    with memory_db.reading() as session:
        assert for_case(session, CASE_NO) == [] and backlog(session) == 0


RESULT = {"name": "黄秀英", "item": "x", "case_no": CASE_NO, "outcome": "准予许可", "station": "南村便民服务站"}


@pytest.mark.parametrize("kind, mobile, params, named", [
    ("welcome", MOBILE, {}, "no notice of kind 'welcome'"),
    ("acceptance", "1380013800", ACCEPTED, "mobile"),
    ("acceptance", "23800138000", ACCEPTED, "mobile"),
    ("acceptance", MOBILE, {k: v for k, v in ACCEPTED.items() if k != "due_date"}, "acceptance takes {case_no, "),
    ("acceptance", MOBILE, {**ACCEPTED, "query_code": "ABCD2345"}, "never carries a query code"),
    ("result_ready", MOBILE, {**RESULT, "station": "  "}, "station: empty"),
    ("result_ready", MOBILE, {**RESULT, "outcome": None}, "outcome: a string"),
])
def test_a_notice_that_does_not_fit_its_template_is_refused_and_nothing_is_queued(memory_db, kind, mobile, params,
                                                                                    named):
    with pytest.raises(InvalidInput, match=named):
        with memory_db.transaction() as session:
            add_notice(session, kind, mobile, params, case_no=CASE_NO)
    with memory_db.reading() as session:
        assert backlog(session) == 0


def test_only_the_one_time_code_template_carries_a_code():
    for variant in templates.VARIANTS:
        carries_code = {"code", "query_code"} & set(variant.variables)
        assert bool(carries_code) == (variant.kind == templates.ONE_TIME_CODE), variant.template_id


def test_a_pre_review_answer_takes_the_variant_its_params_fit_and_a_long_reason_is_cut(memory_db):
    case = {"name": "黄秀英", "item": "个体工商户设立登记", "case_no": CASE_NO, "answer": "不予受理"}
    with memory_db.transaction() as session:
        passed = add_notice(session, "pre_review_answer", MOBILE, {**case, "answer": "预审通过",
                                                                    "station": "南村便民服务站"}, CASE_NO)
        refused = add_notice(session, "pre_review_answer", MOBILE, {**case, "reason": "经营场所" * 40}, CASE_NO)
    with memory_db.transaction() as session:
        rows = {r.notice_id: r for r in for_case(session, CASE_NO)}
    assert rows[passed].template_id == "TB_PRE_REVIEW_PASS_01"
    assert rows[refused].template_id == "TB_PRE_REVIEW_REFUSE_01"
    reason = rows[refused].params["reason"]
    assert len(reason) == templates.MAX_VALUE and reason.endswith("…")
    text = templates.render("pre_review_answer", rows[passed].params, template_id=rows[passed].template_id)
    assert "请携带材料原件到南村便民服务站办理，只需跑一次" in text


# -- one-time codes ----------------------------------------------------------------------
def issue(db, mobile=MOBILE, client="198.51.100.7", now=NOW, purpose="portal"):
    with db.transaction() as session:
        notice_id = codes.issue(session, STATION, mobile, purpose, client, now=now)
        return code_of(session, notice_id)


def verify(db, code, mobile=MOBILE, now=NOW, purpose="portal"):
    with db.transaction() as session:
        return codes.verify(session, mobile, code, purpose, now=now)


def test_a_code_is_six_digits_sent_by_a_notice_stored_only_hashed_and_used_once(memory_db):
    code = issue(memory_db)
    assert len(code) == 6 and code.isdigit()
    with memory_db.reading() as session:
        [row] = session.query(OneTimeCode).all()
        [notice] = session.query(ResidentNotice).all()
        assert code not in row.code_hash and row.code_hash == codes.code_hash(STATION, MOBILE, "portal", code)
        assert notice.kind == "one_time_code" and notice.mobile == MOBILE and notice.case_no is None
        assert templates.render("one_time_code", notice.params).startswith(f"您的验证码为{code}，5分钟内有效")
        mark_sent(session, notice.notice_id, NOW)
        assert notice.params["code"] == "******"      # the digits are not kept once sent
    assert verify(memory_db, code, purpose="other") is False
    assert verify(memory_db, code, mobile="13900139000") is False
    assert verify(memory_db, code, now=NOW + dt.timedelta(minutes=4, seconds=59)) is True
    assert verify(memory_db, code, now=NOW + dt.timedelta(minutes=5)) is False      # used


def test_a_code_expires_after_five_minutes(memory_db):
    code = issue(memory_db)
    assert verify(memory_db, code, now=NOW + dt.timedelta(minutes=5)) is False
    assert verify(memory_db, code, now=NOW + dt.timedelta(minutes=7)) is False
    with memory_db.reading() as session:     # refused as expired, not counted as a wrong try
        row = session.query(OneTimeCode).one()
        assert (row.tries, row.used_at) == (0, None)
    # the same code a second before its expiry: it was the time that refused it
    assert verify(memory_db, code, now=NOW + dt.timedelta(minutes=4, seconds=59)) is True


def test_five_wrong_answers_kill_a_code_and_the_right_one_is_refused_after_them(memory_db):
    code = issue(memory_db)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for _ in range(codes.MAX_TRIES):
        assert verify(memory_db, wrong) is False
    assert verify(memory_db, code) is False
    with memory_db.reading() as session:
        assert session.query(OneTimeCode).one().tries == codes.MAX_TRIES


def test_four_wrong_answers_leave_the_right_one_working(memory_db):
    code = issue(memory_db)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for _ in range(codes.MAX_TRIES - 1):
        assert verify(memory_db, wrong) is False
    assert verify(memory_db, code) is True


def test_a_new_code_replaces_the_previous_one(memory_db):
    first = issue(memory_db)
    second = issue(memory_db, now=NOW + dt.timedelta(minutes=1))
    later = NOW + dt.timedelta(minutes=1, seconds=30)
    if first != second:
        assert verify(memory_db, first, now=later) is False
    assert verify(memory_db, second, now=later) is True


def test_one_code_a_minute_per_mobile_with_retry_after(memory_db):
    issue(memory_db)
    with pytest.raises(TooManyAttempts) as refused:
        issue(memory_db, now=NOW + dt.timedelta(seconds=20), client="203.0.113.9")
    assert refused.value.retry_after == 40 and "40 秒后再试" in refused.value.message
    issue(memory_db, now=NOW + dt.timedelta(seconds=60))
    with memory_db.reading() as session:
        assert session.query(OneTimeCode).count() == 2 and session.query(ResidentNotice).count() == 2


def test_five_codes_an_hour_per_mobile(memory_db):
    for minute in range(5):
        issue(memory_db, now=NOW + dt.timedelta(minutes=2 * minute), client=f"203.0.113.{minute}")
    with pytest.raises(TooManyAttempts) as refused:
        issue(memory_db, now=NOW + dt.timedelta(minutes=30), client="203.0.113.99")
    assert refused.value.retry_after == 30 * 60      # the first of the five leaves the hour then
    with memory_db.reading() as session:
        assert session.query(ResidentNotice).count() == 5
    issue(memory_db, now=NOW + dt.timedelta(minutes=60, seconds=1), client="203.0.113.99")


def test_twenty_codes_an_hour_per_client_address(memory_db):
    for n in range(codes.PER_ADDRESS_HOUR):
        issue(memory_db, mobile=f"139{n:08d}", now=NOW + dt.timedelta(seconds=n))
    with pytest.raises(TooManyAttempts) as refused:
        issue(memory_db, mobile="13700137000", now=NOW + dt.timedelta(minutes=10))
    assert refused.value.retry_after == 50 * 60
    issue(memory_db, mobile="13700137000", now=NOW + dt.timedelta(minutes=10), client="203.0.113.50")
    with memory_db.reading() as session:
        assert session.query(ResidentNotice).count() == codes.PER_ADDRESS_HOUR + 1


@pytest.mark.parametrize("mobile, purpose", [("1380013800x", "portal"), (MOBILE, "Portal!")])
def test_a_malformed_ask_is_refused_and_nothing_stored(memory_db, mobile, purpose):
    with pytest.raises(InvalidInput):
        issue(memory_db, mobile=mobile, purpose=purpose)
    with memory_db.reading() as session:
        assert session.query(OneTimeCode).count() == 0 and session.query(ResidentNotice).count() == 0
