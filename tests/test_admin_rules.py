"""The administrator's rules without a browser (issue 19): what a version change shows,
the catalogue's history with what each version changed, the item form's body and its
errors in Chinese next to each field, and what an administrator does to users (a
one-time temporary password that must be changed, deactivation, unlock). The same pages
in Chromium over a district and a township: tests/test_admin_web.py."""
import pytest
from werkzeug.datastructures import MultiDict

from services.config import load_network
from services.web_desk import admin_forms as forms
from shared.auth.accounts import Accounts
from shared.auth.administration import TEMPORARY_ALPHABET, UserAdministration
from shared.auth.login_guard import LOCKOUT_FAILURES, LoginGuard
from shared.catalogue.editing import CatalogueEditor
from shared.catalogue.history import changed_fields, history_page
from shared.catalogue.store import CatalogueStore
from shared.exceptions import Conflict, InvalidInput, PasswordChangeRequired, Unauthorized
from tests.support.inprocess import NETWORK_PATH

NETWORK = load_network(str(NETWORK_PATH))
DISTRICT = NETWORK.district_code
ITEM = {"code": "SJ-901", "name": "测试证明", "department": "civil_affairs", "category": "public_service",
        "processing_type": "promised", "legal_limit_days": 20, "promised_limit_days": 5,
        "authority_tier": "district", "accepting_tiers": ["district", "township", "village"],
        "materials": [{"code": "ID", "name": "身份证", "kind": "core", "copies": 1}]}


def item_form(**changes):
    fields = {"code": "SJ-901", "name": "测试证明", "department": "civil_affairs", "category": "public_service",
              "processing_type": "promised", "legal_limit_days": "20", "promised_limit_days": "5", "fee": "",
              "authority_tier": "district", "decision_steps": "review,approve", "keywords": "证明、 测试",
              "material_rows": "2", "materials.0.code": "ID", "materials.0.name": "身份证",
              "materials.0.kind": "core", "materials.0.copies": "1", "materials.1.code": "",
              "materials.1.name": "", "materials.1.kind": "core", "materials.1.copies": "",
              "guide.where": "区行政服务中心", "min_applicant_age": ""}
    fields.update(changes)
    form = MultiDict(fields)
    for tier in ("district", "township", "village"):
        form.add("accepting_tiers", tier)
    return form


def test_the_item_form_becomes_the_apis_body_and_an_item_fills_the_form_again():
    body = forms.item_from_form(item_form())
    assert body["legal_limit_days"] == 20 and body["promised_limit_days"] == 5 and body["fee"] == 0
    assert body["keywords"] == ["证明", "测试"] and body["decision_steps"] == ["review", "approve"]
    assert body["materials"] == [{"code": "ID", "name": "身份证", "kind": "core", "copies": 1}]  # the empty row left out
    assert body["min_applicant_age"] is None and body["guide"]["where"] == "区行政服务中心"
    # a number typed wrongly stays text: the schema names the problem
    assert forms.item_from_form(item_form(legal_limit_days="二十"))["legal_limit_days"] == "二十"
    values = forms.item_form_values(body)
    assert values["keywords"] == "证明 测试" and values["decision_steps"] == "review,approve"
    assert len(values["materials"]) == 1 + forms.EXTRA_MATERIAL_ROWS


def refusal(store, data):
    with pytest.raises(InvalidInput) as refused:
        CatalogueEditor(store, set(NETWORK.departments), lambda: None).add(data, "管理员")
    return forms.error_fields(refused.value)


def test_the_apis_field_errors_are_shown_in_chinese_next_to_their_fields(memory_db):
    with memory_db.transaction() as session:
        store = CatalogueStore(session)
        errors = refusal(store, forms.item_from_form(item_form(promised_limit_days="30")))
        assert errors == {"promised_limit_days": "承诺时限（30个工作日）不能超过法定时限（20个工作日）。"}
        errors = refusal(store, forms.item_from_form(item_form(
            code="sj1", legal_limit_days="二十", department="", **{"materials.0.code": "id card"})))
        assert errors["code"].startswith("编码格式应如“SJ-001”")
        assert errors["legal_limit_days"] == "请填写整数。"
        assert errors["department"] == "必填。"
        assert errors["materials.0.code"] == "格式不正确：1至8位大写字母或数字。"
        errors = refusal(store, forms.item_from_form(item_form(category="licence", processing_type="immediate",
                                                               **{"materials.0.kind": "secondary"})))
        assert errors == {"materials": "行政许可事项至少需要一项核心材料。",
                          "promised_limit_days": "即办件当天办结，承诺时限应为0。"}


def test_a_change_shows_the_fields_it_changes_and_the_history_says_what_each_version_changed(memory_db):
    with memory_db.transaction() as session:
        editor = CatalogueEditor(CatalogueStore(session), set(NETWORK.departments), lambda: _When())
        editor.add(ITEM, "谢秀英（admin）")
        editor.edit("SJ-901", {"promised_limit_days": 3, "fee": 10}, "谢秀英（admin）")
        editor.delegate("SJ-901", {"authority_tier": "township"}, "谢秀英（admin）")
        editor.publish_schedule({"year": 2027, "holidays": ["2027-01-01"]}, "谢秀英（admin）")
        editor.retire("SJ-901", "谢秀英（admin）")
    with memory_db.reading() as session:
        total, entries = history_page(session)
        assert total == 5 and [e["version"] for e in entries] == [5, 4, 3, 2, 1]
        assert [e["kind"] for e in entries] == ["retire", "calendar", "delegate", "edit", "add"]
        assert entries[0]["changes"] == [{"field": "status", "before": "current", "after": "retired"}]
        assert entries[1]["changes"] == [{"field": "year", "before": None, "after": 2027},
                                         {"field": "holidays", "before": None, "after": ["2027-01-01"]}]
        assert entries[2]["changes"] == [{"field": "authority_tier", "before": "district", "after": "township"}]
        assert entries[3]["changes"] == [{"field": "promised_limit_days", "before": 5, "after": 3},
                                         {"field": "fee", "before": 0, "after": 10}]
        assert {c["field"] for c in entries[4]["changes"]} >= {"code", "name", "materials", "status"}
        assert history_page(session, item_code="SJ-901", kind="edit")[0] == 1
    # a fee of 3.0 is a fee of 3; an absent list is an empty one
    assert changed_fields({"fee": 3.0, "keywords": []}, {"fee": 3, "version": 9}) == []
    assert forms.shown("accepting_tiers", ["district", "township"]) == "区、镇（街道）"
    assert forms.shown("department", "civil_affairs", lambda c: NETWORK.departments[c].name) == "区民政局"


class _When:
    def isoformat(self):
        return "2026-12-03T09:00:00+08:00"


def test_a_reset_password_is_shown_once_works_once_and_must_be_changed(memory_db):
    station = NETWORK.station(DISTRICT)
    with memory_db.transaction() as session:
        Accounts(session, station, NETWORK).add({"username": "admin", "name": "谢秀英", "role": "administrator",
                                                  "password": "first-Password-2026"})
        Accounts(session, station, NETWORK).add({"username": "clerk", "name": "魏彩虹", "role": "window_clerk",
                                                  "password": "first-Password-2026"})
        accounts = Accounts(session, station, NETWORK)
        token = accounts.open_session("clerk")["token"]
        guard = LoginGuard(session)
        for _ in range(LOCKOUT_FAILURES):
            guard.failed("clerk", "10.0.0.9")
        assert UserAdministration(session, station, NETWORK).list()[1]["login"]["locked_until"]
    with memory_db.transaction() as session:
        admin = UserAdministration(session, station, NETWORK)
        with pytest.raises(Conflict):
            admin.reset_password("admin", "admin")  # their own: on 我的账号
        reset = admin.reset_password("clerk", "admin")
    password = reset["temporary_password"]
    assert len(password) == 14 and set(password) <= set(TEMPORARY_ALPHABET) and reset["must_change_password"]
    with memory_db.transaction() as session:
        accounts = Accounts(session, station, NETWORK)
        with pytest.raises(Unauthorized):  # the old session ended
            accounts.user_of(token)
        accounts.check_password("clerk", password)  # the lock was cleared with the reset
        session_token = accounts.open_session("clerk")["token"]
        with pytest.raises(PasswordChangeRequired):
            accounts.user_of(session_token, "/desk/cases")
        assert UserAdministration(session, station, NETWORK).list()[1]["login"]["failures"] == 0


def test_a_deactivated_user_cannot_log_in_and_an_unlock_forgets_the_failures(memory_db):
    station = NETWORK.station(DISTRICT)
    with memory_db.transaction() as session:
        accounts = Accounts(session, station, NETWORK)
        for username, role in (("admin", "administrator"), ("clerk", "window_clerk")):
            accounts.add({"username": username, "name": "测试", "role": role, "password": "first-Password-2026"})
        token = accounts.open_session("clerk")["token"]
        admin = UserAdministration(session, station, NETWORK)
        with pytest.raises(Conflict):
            admin.set_active("admin", False, "admin")
        assert admin.set_active("clerk", False, "admin")["active"] is False
        with pytest.raises(Unauthorized):
            accounts.user_of(token)
        with pytest.raises(Unauthorized):
            accounts.check_password("clerk", "first-Password-2026")
        admin.set_active("clerk", True, "admin")
        accounts.check_password("clerk", "first-Password-2026")
        LoginGuard(session).failed("clerk", "10.0.0.9")
        LoginGuard(session).failed("clerk", "10.0.0.9")
        assert admin.unlock("clerk") == 2
        assert LoginGuard(session).state("clerk") == {"failures": 0, "locked_until": None}
