"""一件事 bundles' rules without a database (shared/catalogue/bundles.py): a bad bundle is
refused naming every bad field at once; the limit is checked against the items' legal
limits; a material several items need is listed once, with the items that need it; a
questionnaire's answers choose the items; the sample catalogue's bundles are valid."""
import pytest
from marshmallow import ValidationError

from deploy.seeding import load_bundles_file, load_catalogue_file
from deploy.settings import SAMPLE_CATALOGUE
from shared.catalogue.bundles import (
    BundleSchema, bundle_problems, bundle_view, limit_saving, material_identity, merged_materials,
    prerequisites_within, selected_items,
)
from tests.support.items import item, licence


def catalogue():
    """Items by code: a business licence (3 days), a food licence (20) that needs its
    paper, a sign permit (30) accepted at district and township only, a retired one."""
    licence_paper = {"code": "M02", "name": "营业执照", "kind": "core", "copies": 1}
    return {
        "SJ-004": dict(item("SJ-004", name="企业设立登记", department="market_regulation", legal_limit_days=3,
                            promised_limit_days=1), status="current"),
        "SJ-002": dict(licence("SJ-002", name="食品经营许可", legal_limit_days=20, promised_limit_days=3,
                               materials=[{"code": "M01", "name": "申请书", "kind": "core", "copies": 1},
                                          licence_paper,
                                          {"code": "ID", "name": "申请人身份证", "kind": "secondary", "copies": 1}]),
                       status="current"),
        "ZJ-008": dict(licence("ZJ-008", name="户外招牌设置审批", legal_limit_days=30, promised_limit_days=5,
                               accepting_tiers=["district", "township"],
                               materials=[{"code": "M02", "name": "营业执照 ", "kind": "secondary", "copies": 2},
                                          {"code": "M03", "name": "招牌效果图", "kind": "core", "copies": 1}]),
                       status="current"),
        "MZ-009": dict(item("MZ-009"), status="retired"),
    }


def restaurant(**overrides):
    data = {
        "code": "B001", "name": "我要开餐馆",
        "guide": {"where": "综合窗口", "notes": "一次办好"},
        "items": ["SJ-004", "SJ-002"],
        "questions": [{"code": "Q1", "text": "是否设置户外招牌？", "adds": ["ZJ-008"]}],
        "materials": [{"key": "business_licence", "name": "营业执照",
                       "uses": [{"item": "SJ-002", "material": "M02"}, {"item": "ZJ-008", "material": "M02"}]}],
        "promised_limit_days": 5,
        "accepting_tiers": ["district", "township"],
        "prerequisites": [{"item": "SJ-002", "requires": "SJ-004"}],
    }
    data.update(overrides)
    return data


def refusal(data, existing=()):
    with pytest.raises(ValidationError) as refused:
        BundleSchema(items=catalogue(), existing=set(existing)).load(data)
    return refused.value.messages


def test_a_good_bundle_loads_active_with_its_defaults():
    loaded = BundleSchema(items=catalogue(), existing={"B002"}).load(restaurant())
    assert loaded["status"] == "active" and loaded["keywords"] == []
    assert loaded["guide"]["where"] == "综合窗口"
    assert bundle_problems(loaded, catalogue().get) == {}


def test_a_bad_bundle_is_refused_naming_every_bad_field_at_once():
    bad = restaurant(
        items=["SJ-004", "XX-001", "MZ-009", "SJ-004"],
        questions=[{"code": "Q1", "text": "是否设置户外招牌？", "adds": ["ZJ-008", "YY-002"]},
                   {"code": "Q1", "text": "又一个问题？", "adds": ["SJ-004"]}],
        promised_limit_days=31,
        accepting_tiers=["district", "village"],
        prerequisites=[{"item": "SJ-002", "requires": "SJ-004"}, {"item": "WL-004", "requires": "SJ-004"}],
        materials=[{"key": "business_licence", "name": "营业执照",
                    "uses": [{"item": "SJ-004", "material": "M99"}, {"item": "WL-004", "material": "M02"}]}],
    )
    errors = refusal(bad, existing={"B001"})
    assert set(errors) == {"code", "items", "questions", "promised_limit_days", "accepting_tiers",
                           "prerequisites", "materials"}
    text = {field: " | ".join(map(str, problems)) for field, problems in errors.items()}
    assert "already exists" in text["code"]
    assert "unknown item 'XX-001'" in text["items"] and "item 'MZ-009' is retired" in text["items"]
    assert "'SJ-004' is listed twice" in text["items"]
    assert "unknown item 'YY-002'" in text["questions"] and "'Q1' is used twice" in text["questions"]
    assert "'SJ-004' is always included" in text["questions"]
    assert "(31)" in text["promised_limit_days"] and "(30, ZJ-008)" in text["promised_limit_days"]
    assert "village tier cannot accept" in text["accepting_tiers"] and "ZJ-008" in text["accepting_tiers"]
    assert "'WL-004' is not in the bundle" in text["prerequisites"]
    assert "has no material 'M99'" in text["materials"] and "'WL-004' is not in the bundle" in text["materials"]


def test_field_errors_and_catalogue_errors_come_together():
    errors = refusal(restaurant(code="餐馆", name="", promised_limit_days="五", accepting_tiers=["province"],
                                status="paused", surprise=1, items=["SJ-004", "XX-001"]))
    assert {"code", "name", "promised_limit_days", "accepting_tiers", "status", "surprise", "items"} <= set(errors)
    assert "unknown item 'XX-001'" in errors["items"]


@pytest.mark.parametrize("bundle,field,fragment", [
    (restaurant(items=["SJ-004"], questions=[]), "items", "at least two items"),
    (restaurant(accepting_tiers=[]), "accepting_tiers", "at least one tier"),
    (restaurant(questions=[{"code": "Q1", "text": "是否？", "adds": []}]), "questions", "Shorter than minimum"),
    (restaurant(questions=[{"code": "X", "text": "是否设置户外招牌？", "adds": ["ZJ-008"]}]), "questions", "Q1"),
    (restaurant(questions=[{"code": f"Q{n}", "text": "是否设置户外招牌？", "adds": ["ZJ-008"]} for n in range(11)]),
     "questions", "Longer than maximum"),
    (restaurant(prerequisites=[{"item": "SJ-002", "requires": "SJ-002"}]), "prerequisites", "require itself"),
    (restaurant(prerequisites=[{"item": "SJ-002", "requires": "SJ-004"}] * 2), "prerequisites", "listed twice"),
    (restaurant(materials=[{"key": "a", "name": "营业执照", "uses": [{"item": "SJ-002", "material": "M02"}]},
                           {"key": "b", "name": "执照", "uses": [{"item": "SJ-002", "material": "M02"}]}]),
     "materials", "already listed as 'a'"),
    (restaurant(materials=[{"key": "a", "name": "营业执照", "uses": [{"item": "SJ-002", "material": "M02"}]}] * 2),
     "materials", "key 'a' is used twice"),
    (restaurant(materials=[{"key": "Licence", "name": "营业执照", "uses": [{"item": "SJ-002", "material": "M02"}]}]),
     "materials", "lower-case"),
])
def test_each_bad_part_is_named(bundle, field, fragment):
    errors = refusal(bundle)
    assert fragment in str(errors[field]), errors


def test_the_limit_is_checked_against_the_longest_legal_limit_of_every_item_it_may_contain():
    items = catalogue()
    # the sign permit (30 days), added by a question, counts
    assert bundle_problems(restaurant(promised_limit_days=30), items.get) == {}
    assert "promised_limit_days" in bundle_problems(restaurant(promised_limit_days=31), items.get)
    # without it the food licence's 20 days is the longest
    no_sign = restaurant(questions=[], materials=[], promised_limit_days=21)
    assert "(20, SJ-002)" in bundle_problems(no_sign, items.get)["promised_limit_days"][0]
    assert bundle_problems(dict(no_sign, promised_limit_days=20), items.get) == {}


def test_merged_materials_list_a_shared_paper_once_with_the_items_that_need_it():
    items = catalogue()
    bundle = restaurant()
    merged = {m["key"]: m for m in merged_materials(bundle, items)}
    licence_paper = merged["business_licence"]
    assert licence_paper["items"] == ["SJ-002", "ZJ-008"]
    assert licence_paper["uses"] == [{"item": "SJ-002", "material": "M02"}, {"item": "ZJ-008", "material": "M02"}]
    # core for one item: core; copies the most any item asks
    assert licence_paper["kind"] == "core" and licence_paper["copies"] == 2
    # materials not declared are one by their normalized name: the business registration's
    # and the food licence's ID card (「申请人身份证」) is handed in once
    id_card = merged["name:" + material_identity("申请人身份证")]
    assert id_card["items"] == ["SJ-004", "SJ-002"] and id_card["kind"] == "core"
    assert sum(m["key"] == "business_licence" for m in merged_materials(bundle, items)) == 1
    every_use = sorted((u["item"], u["material"]) for m in merged.values() for u in m["uses"])
    assert every_use == sorted((code, m["code"]) for code in ("SJ-004", "SJ-002", "ZJ-008")
                               for m in items[code]["materials"])
    # without the sign, the licence paper is the food licence's alone
    without_sign = {m["key"]: m for m in merged_materials(bundle, items, selected_items(bundle, []))}
    assert without_sign["business_licence"]["items"] == ["SJ-002"]
    assert "name:" + material_identity("招牌效果图") not in without_sign


def test_material_identity_ignores_width_spaces_case_and_punctuation():
    assert material_identity("营业执照 ") == material_identity("营业执照") == material_identity("营业执照。")
    assert material_identity("ＩＤ Card") == material_identity("id card")
    assert material_identity("营业执照") != material_identity("营业执照副本")


def test_answers_choose_the_items_and_the_prerequisites_within_them():
    bundle = restaurant(prerequisites=[{"item": "SJ-002", "requires": "SJ-004"},
                                       {"item": "ZJ-008", "requires": "SJ-004"}])
    assert selected_items(bundle, []) == ["SJ-004", "SJ-002"]
    assert selected_items(bundle, ["Q1"]) == ["SJ-004", "SJ-002", "ZJ-008"]
    assert prerequisites_within(bundle, ["SJ-004", "SJ-002"]) == [{"item": "SJ-002", "requires": "SJ-004"}]
    with pytest.raises(ValueError, match="Q9"):
        selected_items(bundle, ["Q9"])
    # promised 1 + 3 + 5 one after the other, against the bundle's 5
    assert limit_saving(bundle, catalogue()) == 4
    view = bundle_view(bundle, catalogue(), ["Q1"])
    assert [d["code"] for d in view["item_details"] if d["conditional"]] == ["ZJ-008"]
    assert view["days_saved"] == 4 and len(view["prerequisites_selected"]) == 2


def test_the_sample_catalogue_has_at_least_ten_valid_bundles_in_chinese():
    items = {i["code"]: dict(i, status="current") for i in load_catalogue_file(SAMPLE_CATALOGUE)}
    bundles = load_bundles_file(SAMPLE_CATALOGUE)
    assert len(bundles) >= 10
    names = {b["name"] for b in bundles}
    assert {"我要开餐馆", "我要开书店", "企业开办", "新生儿出生", "退休", "二手房转移登记及水电气过户",
            "建设项目并联审批", "残疾人两项补贴", "灵活就业登记", "军人退役"} <= names
    codes = [b["code"] for b in bundles]
    assert len(set(codes)) == len(codes)
    for bundle in bundles:
        loaded = BundleSchema(items=items, existing=set()).load(bundle)
        merged = merged_materials(loaded, items)
        # every material of every item is handed in through exactly one merged entry
        uses = [(u["item"], u["material"]) for m in merged for u in m["uses"]]
        assert len(uses) == len(set(uses))
        assert any(len(m["items"]) > 1 for m in merged), bundle["code"]
