"""The rating figures (好差评统计) over plain rows, so that a hand-built set checks them.

Over the ratings of a period (by the day they reached the district):

participation      real ratings / (real + default ones): every completed case gets one of
                   the two, so this is the share of completed cases residents rated (参评率)
satisfied_share    real ratings 非常满意, 满意 or 基本满意 / real ratings (满意率)
bad_review_rate    real ratings 不满意 or 非常不满意 / real ratings (差评率)
rectification_rate orders the office acted on / orders (整改率)
on_time_rate       orders acted on within their limit / orders (按期整改率)
follow_up_rate     orders with their follow-up call recorded / orders (回访率)
appeals_annulled   appeals that succeeded (申诉成立: the rating annulled), and
appeal_success_rate  their share of the appeals decided

An annulled rating is left out of every figure but `annulled` (the history keeps it), and
so is its rectification order. Default ratings are counted apart (`defaults`), never as
real ones. A rate without a denominator is None.
"""
from shared.ratings import appeals as appeal_rules
from shared.ratings import levels
from shared.ratings import rectification as orders

FIGURES = ("completed", "rated", "defaults", "annulled", "participation", "by_level", "satisfied",
           "satisfied_share", "bad_reviews", "bad_review_rate", "rectifications", "rectified",
           "rectification_rate", "rectified_on_time", "on_time_rate", "followed_up", "follow_up_rate",
           "resident_satisfied_after", "appeals", "appeals_decided", "appeals_annulled", "appeals_upheld",
           "appeal_success_rate")
LABELS = {"completed": "办结件数", "rated": "评价数", "defaults": "默认好评数", "annulled": "作废评价数",
          "participation": "参评率", "satisfied": "好评数", "satisfied_share": "满意率",
          "bad_reviews": "差评数", "bad_review_rate": "差评率", "rectifications": "整改单数",
          "rectified": "已整改数", "rectification_rate": "整改率", "rectified_on_time": "按期整改数",
          "on_time_rate": "按期整改率", "followed_up": "已回访数", "follow_up_rate": "回访率",
          "resident_satisfied_after": "整改后满意数", "appeals": "申诉数", "appeals_decided": "已复核申诉数",
          "appeals_annulled": "申诉成立数", "appeals_upheld": "申诉不成立数", "appeal_success_rate": "申诉成立率"}


def _ratio(part, whole):
    return round(part / whole, 4) if whole else None


def figures(ratings, rectifications=(), appeals=()):
    """The figures of `ratings` (dicts: case_no, level, is_default, annulled), their
    `rectifications` (dicts: case_no, state, due_date, acted_on, followed_up_on,
    resident_level) and `appeals` (dicts: case_no, state); orders and appeals of
    ratings not in `ratings` are not counted."""
    ratings = list(ratings)
    cases = {r["case_no"]: r for r in ratings}
    counted = {no for no, r in cases.items() if not r["annulled"]}
    real = [r for r in ratings if not r["is_default"] and not r["annulled"]]
    by_level = dict.fromkeys(levels.LEVELS, 0)
    for r in real:
        by_level[r["level"]] += 1
    defaults = sum(1 for r in ratings if r["is_default"] and not r["annulled"])
    satisfied = sum(by_level[level] for level in levels.GOOD)
    bad = sum(by_level[level] for level in levels.BAD)
    counted_orders = [o for o in rectifications if o["case_no"] in counted]
    rectified = [o for o in counted_orders if o.get("acted_on") is not None]
    on_time = sum(1 for o in rectified if orders.on_time(o))
    followed = sum(1 for o in counted_orders if o.get("followed_up_on") is not None)
    after = sum(1 for o in counted_orders if o.get("resident_level") in levels.GOOD)
    appealed = [a for a in appeals if a["case_no"] in cases]
    decided = [a for a in appealed if a["state"] != appeal_rules.PENDING]
    annulled_on_appeal = sum(1 for a in decided if a["state"] == appeal_rules.ANNULLED)
    return {
        "completed": len(real) + defaults, "rated": len(real), "defaults": defaults,
        "annulled": sum(1 for r in ratings if r["annulled"]),
        "participation": _ratio(len(real), len(real) + defaults), "by_level": by_level,
        "satisfied": satisfied, "satisfied_share": _ratio(satisfied, len(real)),
        "bad_reviews": bad, "bad_review_rate": _ratio(bad, len(real)),
        "rectifications": len(counted_orders), "rectified": len(rectified),
        "rectification_rate": _ratio(len(rectified), len(counted_orders)),
        "rectified_on_time": on_time, "on_time_rate": _ratio(on_time, len(counted_orders)),
        "followed_up": followed, "follow_up_rate": _ratio(followed, len(counted_orders)),
        "resident_satisfied_after": after,
        "appeals": len(appealed), "appeals_decided": len(decided), "appeals_annulled": annulled_on_appeal,
        "appeals_upheld": len(decided) - annulled_on_appeal,
        "appeal_success_rate": _ratio(annulled_on_appeal, len(decided)),
    }


def grouped(ratings, rectifications=(), appeals=(), key=lambda rating: None):
    """{group: figures} with the ratings grouped by `key(rating)` (orders and appeals
    follow their rating's group)."""
    group_of, groups = {}, {}
    for r in ratings:
        group_of[r["case_no"]] = key(r)
        groups.setdefault(key(r), ([], [], []))[0].append(r)
    for index, rows in ((1, rectifications), (2, appeals)):
        for row in rows:
            if row["case_no"] in group_of:
                groups[group_of[row["case_no"]]][index].append(row)
    return {group: figures(*found) for group, found in groups.items()}
