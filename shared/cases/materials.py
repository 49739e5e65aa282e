"""The materials check at the counter (受理审查), against the item version in force.

Outcomes, in the order they are considered:
- returned: the applicant is not eligible for the item (e.g. too young);
- accepted_by_commitment: the item allows a signed commitment letter (告知承诺) and
  the applicant signed one: missing materials are replaced by the commitment;
- accepted: every material is there;
- accepted_with_deficiency: the item allows it (容缺受理), every core material is there,
  only secondary ones are missing and the applicant committed to bring them by a due date;
- needs_supplement: anything else; ONE notice lists every missing material (一次性告知).
"""
from dataclasses import dataclass, field

from shared.cases import citizen_id
from shared.cases.states import (
    ACCEPTED, ACCEPTED_BY_COMMITMENT, ACCEPTED_WITH_DEFICIENCY, NEEDS_SUPPLEMENT, RETURNED, SUSPENDED,
)

DEFICIENCY_DAYS = 5  # working days the applicant has to bring the missing secondary materials


@dataclass
class CheckResult:
    outcome: str
    missing: list = field(default_factory=list)  # the material dicts still missing
    reason: str = ""


def check_materials(item, submitted, commitment, deficiency_promise, id_number, today):
    submitted = set(submitted)
    min_age = item.get("min_applicant_age")
    if min_age:
        age = citizen_id.age_on(id_number, today)
        if age < min_age:
            return CheckResult(RETURNED, reason=f"申请人年龄{age}周岁，未满{min_age}周岁，不符合“{item['name']}”的申请条件")
    missing = [m for m in item["materials"] if m["code"] not in submitted]
    if not missing:
        return CheckResult(ACCEPTED)
    if commitment and item.get("allows_commitment"):
        return CheckResult(ACCEPTED_BY_COMMITMENT, missing=missing,
                           reason="申请人签署告知承诺书，以承诺替代所缺材料")
    core_missing = [m for m in missing if m["kind"] == "core"]
    if not core_missing and deficiency_promise and item.get("allows_deficiency"):
        return CheckResult(ACCEPTED_WITH_DEFICIENCY, missing=missing,
                           reason="核心材料齐全，次要材料容缺，申请人已承诺限期补齐")
    return CheckResult(NEEDS_SUPPLEMENT, missing=missing,
                       reason="材料不齐，请按一次性告知书补齐后再办理")


def outstanding(case):
    """The materials (the item's material dicts) the case still waits for: while it needs
    a supplement, every material not handed in (the one-time notice lists them); once
    accepted, the secondary ones a deficiency acceptance (容缺) left missing, and those a
    suspension (补正) asked for while the case is suspended."""
    if case["status"] == NEEDS_SUPPLEMENT:
        submitted = set(case["materials_submitted"])
        return [m for m in case["item"]["materials"] if m["code"] not in submitted]
    missing = list((case.get("deficiency") or {}).get("missing", []))
    if case["status"] == SUSPENDED:
        missing += (case.get("suspension") or {}).get("missing", [])
    return missing
