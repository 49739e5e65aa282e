"""The five rating levels (GB/T 39734 政务服务评价), the reasons a resident may give, and
which office a bad rating is about.

A level and a score name the same thing: 5 非常满意, 4 满意, 3 基本满意, 2 不满意,
1 非常不满意. A rating sent as a score (old clients, the simulation, version-1 messages)
keeps working: its level is read from the score, and every rating keeps its score so
stations that know only scores read it alike.

Reasons come from a fixed list; each says whether it is about the counter (窗口) that
received the case or the office that decided it. A bad rating whose reasons are all about
the counter is the counter's to rectify; any other (no reason, or one about the deciding
office) is the deciding office's.
"""
from shared.exceptions import InvalidInput

VERY_SATISFIED, SATISFIED, BASIC, DISSATISFIED, VERY_DISSATISFIED = (
    "very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied")
#: best first
LEVELS = (VERY_SATISFIED, SATISFIED, BASIC, DISSATISFIED, VERY_DISSATISFIED)
LABELS = {VERY_SATISFIED: "非常满意", SATISFIED: "满意", BASIC: "基本满意", DISSATISFIED: "不满意",
          VERY_DISSATISFIED: "非常不满意"}
SCORES = {VERY_SATISFIED: 5, SATISFIED: 4, BASIC: 3, DISSATISFIED: 2, VERY_DISSATISFIED: 1}
LEVEL_OF_SCORE = {score: level for level, score in SCORES.items()}
#: 差评: each opens a rectification order
BAD = (DISSATISFIED, VERY_DISSATISFIED)
#: 好评 (the satisfied share counts these)
GOOD = (VERY_SATISFIED, SATISFIED, BASIC)
DEFAULT_LABEL = "基本满意（默认）"

COUNTER, OFFICE = "counter", "office"
#: code -> (label, what it is about)
REASONS = {
    "counter_attitude": ("窗口服务态度", COUNTER),
    "counter_waiting": ("排队等候时间", COUNTER),
    "efficiency": ("办事效率", OFFICE),
    "materials": ("材料要求", OFFICE),
    "result": ("结果不满意", OFFICE),
    "other": ("其他", OFFICE),
}
COMMENT_MAX = 1000


def level_of(rating):
    """The level of a case's rating snapshot: its `level`, or (a rating made before
    levels existed) the one its score names."""
    return rating.get("level") or LEVEL_OF_SCORE[rating["score"]]


def label(level, is_default=False):
    return DEFAULT_LABEL if is_default else LABELS[level]


def is_bad(level):
    return level in BAD


def resolve(score=None, level=None):
    """(level, score) of a rating given by either or both; InvalidInput if neither is
    given or they disagree."""
    if level is None and score is None:
        raise InvalidInput("rating: give a level (非常满意 … 非常不满意) or a score 1-5")
    if level is not None and level not in SCORES:
        raise InvalidInput(f"level: must be one of {', '.join(LEVELS)}")
    if score is not None and score not in LEVEL_OF_SCORE:
        raise InvalidInput("score: must be 1-5")
    if level is None:
        return LEVEL_OF_SCORE[score], score
    if score is not None and SCORES[level] != score:
        raise InvalidInput(f"score {score} and level {level} disagree ({level} is {SCORES[level]})")
    return level, SCORES[level]


def responsible(reasons):
    """COUNTER when the reasons given are all about the counter, else OFFICE."""
    about = {REASONS[code][1] for code in reasons}
    return COUNTER if about == {COUNTER} else OFFICE


def history_text(level, reasons, comment):
    """The line the case's history gets: 评价2分（不满意），原因：办事效率、材料要求：comment
    (as before levels, it starts with the score)."""
    text = f"评价{SCORES[level]}分（{LABELS[level]}）"
    if reasons:
        text += "，原因：" + "、".join(REASONS[code][0] for code in reasons)
    return text + (f"：{comment}" if comment else "")
