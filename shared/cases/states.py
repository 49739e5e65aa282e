"""The life of a case as a state machine. Only the station holding a case moves it."""
from shared.exceptions import TransitionForbidden

NEEDS_SUPPLEMENT = "needs_supplement"
RETURNED = "returned"
ACCEPTED = "accepted"
ACCEPTED_WITH_DEFICIENCY = "accepted_with_deficiency"
ACCEPTED_BY_COMMITMENT = "accepted_by_commitment"
FORWARDED = "forwarded"          # sent up (or down) to the next station on its route
RECEIVED = "received"            # arrived at a station on its route
PENDING_REVIEW = "pending_review"
PENDING_APPROVAL = "pending_approval"
JOINT_REVIEW = "joint_review"    # all joint departments decide in parallel
SUSPENDED = "suspended"          # the deciding office asked for more materials: clock paused
APPROVED = "approved"
REJECTED = "rejected"
RESULT_SENT = "result_sent"      # the result is on its way to the filing station
RESULT_READY = "result_ready"    # at the filing station, waiting for the applicant
COMPLETED = "completed"
# an online application (shared/cases/pre_review.py), before acceptance at its receiving counter
PRE_REVIEW = "pre_review"                      # 网上预审: waiting for the counter's answer
PRE_REVIEW_SUPPLEMENT = "pre_review_supplement"  # the counter asked for materials: the resident uploads
PRE_REVIEW_PASSED = "pre_review_passed"        # passed: waits for the resident's one visit with the originals

ACCEPTANCE_OUTCOMES = (ACCEPTED, ACCEPTED_WITH_DEFICIENCY, ACCEPTED_BY_COMMITMENT)
DECIDING = (PENDING_REVIEW, PENDING_APPROVAL, JOINT_REVIEW)
FINAL = (RETURNED, COMPLETED)
# an online application not yet accepted or returned
ONLINE_WAITING = (PRE_REVIEW, PRE_REVIEW_SUPPLEMENT, PRE_REVIEW_PASSED)
# the case's clock is running (accepted, not yet decided)
RUNNING = (*ACCEPTANCE_OUTCOMES, FORWARDED, RECEIVED, *DECIDING)

_ROUTING = (FORWARDED, PENDING_REVIEW, PENDING_APPROVAL, JOINT_REVIEW)
ALLOWED = {
    None: (NEEDS_SUPPLEMENT, RETURNED, *ACCEPTANCE_OUTCOMES, PRE_REVIEW),
    # answers of the pre-review: ask for materials, pass (one visit), pass fully online
    # (accepted at once), not acceptable (returned)
    PRE_REVIEW: (PRE_REVIEW_SUPPLEMENT, PRE_REVIEW_PASSED, RETURNED, *ACCEPTANCE_OUTCOMES),
    PRE_REVIEW_SUPPLEMENT: (PRE_REVIEW, RETURNED),
    # the visit with the originals: the counter's usual materials check
    PRE_REVIEW_PASSED: (NEEDS_SUPPLEMENT, RETURNED, *ACCEPTANCE_OUTCOMES),
    NEEDS_SUPPLEMENT: (NEEDS_SUPPLEMENT, RETURNED, *ACCEPTANCE_OUTCOMES),
    ACCEPTED: _ROUTING,
    ACCEPTED_WITH_DEFICIENCY: _ROUTING,
    ACCEPTED_BY_COMMITMENT: _ROUTING,
    FORWARDED: (RECEIVED,),
    RECEIVED: _ROUTING,
    PENDING_REVIEW: (PENDING_APPROVAL, REJECTED, SUSPENDED),
    PENDING_APPROVAL: (APPROVED, REJECTED, SUSPENDED),
    JOINT_REVIEW: (APPROVED, REJECTED, SUSPENDED),
    SUSPENDED: DECIDING,
    APPROVED: (RESULT_SENT, RESULT_READY),
    REJECTED: (RESULT_SENT, RESULT_READY),
    RESULT_SENT: (RESULT_READY,),
    RESULT_READY: (COMPLETED,),
    RETURNED: (),
    COMPLETED: (),
}

LABELS = {
    NEEDS_SUPPLEMENT: "待补正", RETURNED: "已退回", ACCEPTED: "已受理",
    ACCEPTED_WITH_DEFICIENCY: "容缺受理", ACCEPTED_BY_COMMITMENT: "告知承诺受理",
    FORWARDED: "已转报", RECEIVED: "已接收", PENDING_REVIEW: "待审查",
    PENDING_APPROVAL: "待审批", JOINT_REVIEW: "并联审批中", SUSPENDED: "补正中（暂停计时）", APPROVED: "已批准",
    REJECTED: "不予批准", RESULT_SENT: "结果回传中", RESULT_READY: "待领取", COMPLETED: "已办结",
    PRE_REVIEW: "网上预审中", PRE_REVIEW_SUPPLEMENT: "预审待补正", PRE_REVIEW_PASSED: "预审通过，待携原件到窗口",
}


def check(current, target, action="change"):
    if target not in ALLOWED.get(current, ()):
        raise TransitionForbidden(
            f"cannot {action}: the case is {current} ({LABELS.get(current, current)}), "
            f"which does not allow moving to {target}")
