"""The 好差评 cycle over the real network (RabbitMQ, every station its own process, both
databases): a resident's 非常不满意 rating at a village reaches the district with the
case's record, the district's patrol opens a rectification order at the department that
decided the case, which answers it; the supervisor's follow-up call closes it with the
resident's new rating, and the figures count it."""
import pytest

from tests.test_case_network import DISTRICT, SOUTH_VILLAGE, running_case_network, wait_until
from tests.test_case_network import completed_case


@pytest.fixture(scope="module")
def net():
    with running_case_network(supervision_seconds=0.5) as network:
        yield network


def test_a_very_bad_rating_at_a_village_opens_a_rectification_at_the_deciding_department(net):
    case_no, query_code = completed_case(net)
    net.post(SOUTH_VILLAGE, f"/api/cases/{case_no}/deliver", {})
    rated = net.call("POST", SOUTH_VILLAGE, "/api/status/rating",
                     {"case_no": case_no, "query_code": query_code, "level": "very_dissatisfied",
                      "reasons": ["efficiency", "result"], "comment": "材料交了三次"}, as_user=False)
    assert rated.status_code == 200, rated.text
    stored = net.case(SOUTH_VILLAGE, case_no)["rating"]
    assert (stored["score"], stored["level"], stored["reasons"]) == (1, "very_dissatisfied", ["efficiency", "result"])

    def orders(user):
        response = net.call("GET", DISTRICT, "/api/rectifications", as_user=user)
        assert response.status_code == 200, response.text
        return {o["case_no"]: o for o in response.json()["rectifications"]}

    wait_until(lambda: case_no in orders("civil_affairs.reviewer"), 30, message="the order at the district")
    order = orders("civil_affairs.reviewer")[case_no]
    assert (order["office"], order["office_kind"], order["state"]) == ("civil_affairs", "department", "open")
    assert case_no not in orders("housing.reviewer")

    def step(path, body, user):
        return net.call("POST", DISTRICT, f"/api/rectifications/{case_no}/{path}", body, as_user=user)

    assert step("action", {"action": "已约谈"}, "housing.reviewer").status_code == 403
    acted = step("action", {"action": "已简化材料要求，一次性告知"}, "civil_affairs.approver")
    assert acted.status_code == 200 and acted.json()["rectification"]["state"] == "acted", acted.text
    closed = step("follow-up", {"answer": "电话回访：群众认可整改", "level": "satisfied"}, "supervisor")
    assert closed.status_code == 200 and closed.json()["rectification"]["state"] == "closed", closed.text
    history = [h["action"] for h in closed.json()["history"]]
    assert history == ["rate", "open", "act", "follow_up"]

    stats = net.call("GET", DISTRICT, "/api/ratings/stats", as_user="supervisor").json()["rows"][-1]
    assert stats["bad_reviews"] >= 1 and stats["rectified"] >= 1 and stats["followed_up"] >= 1
    assert stats["resident_satisfied_after"] >= 1
