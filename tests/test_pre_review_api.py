"""The online hall's JSON API (services/gateway/online.py) over a district, a township and a
village each in its own process on the test's RabbitMQ, the notices going through the
file channel: the SMS code gates the application (a wrong one files nothing, a wrongly
typed file is refused before the code is used up), the counter's answers, the resident's
upload after the one supplement notice, the visit with the originals, and the refusals
(an answer the item does not allow, a second answer, another station's counter)."""
import base64
import datetime as dt

import requests

from shared.cases.citizen_id import make as make_id
from tests.support.sample_files import jpeg, pdf, png
from tests.test_portal_web import DISTRICT, VILLAGE, net, notices_dir, wait_notice  # noqa: F401 (fixtures)

ITEM = "RS-005"   # 网上预审, three core materials, decided at the district


def code_for(net, notices_dir, mobile):
    before = len(list(notices_dir.glob("*.json")))
    asked = requests.post(net.launcher.url_of(VILLAGE) + "/api/portal/codes",
                          json={"mobile": mobile, "purpose": "apply"}, timeout=10)
    assert asked.status_code == 202, asked.text
    codes = wait_notice(notices_dir, mobile, "one_time_code")
    assert len(list(notices_dir.glob("*.json"))) > before
    return codes[-1]["params"]["code"]


def application(mobile, code, id_number):
    return {"item_code": ITEM, "code": code,
            "applicant": {"name": "许惠敏", "id_number": id_number, "phone": mobile, "residence": VILLAGE}}


def encoded(files):
    """The API's `files`: [{material, filename, content (base64)}]."""
    return [{"material": name[5:], "filename": filename, "content": base64.b64encode(content).decode()}
            for name, (filename, content, _) in files.items()]


def apply(net, body, files):
    return requests.post(net.launcher.url_of(VILLAGE) + "/api/portal/applications", timeout=20,
                         json={**body, "files": encoded(files)})


def test_apply_answer_upload_and_accept_through_the_api(net, notices_dir):
    mobile = "13511112222"
    id_number = make_id("445203", dt.date(1961, 2, 3), 17)
    files = {"file_M01": ("申请表.pdf", pdf(), "application/pdf"), "file_M02": ("身份证.jpg", jpeg(), "image/jpeg")}

    # a file that is not what it says is refused, naming it, before the code is used
    code = code_for(net, notices_dir, mobile)
    fake = apply(net, application(mobile, code, id_number),
                 {**files, "file_M03": ("社保卡.pdf", b"just text, not a PDF", "application/pdf")})
    assert fake.status_code == 400 and "社保卡.pdf" in fake.json()["message"]
    # a wrong code files nothing
    wrong = apply(net, application(mobile, "000000" if code != "000000" else "111111", id_number), files)
    assert wrong.status_code == 400 and "验证码" in wrong.json()["message"]
    listed = net.get(VILLAGE, "/api/cases", scope="all", status="pre_review")
    assert listed["total"] == 0
    # the right code: filed, in pre-review, two files kept; the code is used up
    applied = apply(net, application(mobile, code, id_number), files)
    assert applied.status_code == 201, applied.text
    case_no, query_code = applied.json()["case_no"], applied.json()["query_code"]
    assert applied.json()["status"] == "pre_review" and applied.json()["materials_submitted"] == ["M01", "M02"]
    again = apply(net, application(mobile, code, id_number), files)
    assert again.status_code == 400

    # the counter: pass_online is not for a pre-review item; a supplement for the missing one
    refused = net.call("POST", VILLAGE, f"/api/cases/{case_no}/pre-review", {"answer": "pass_online"})
    assert refused.status_code == 409 and "全程网办" in refused.json()["message"]
    asked = net.post(VILLAGE, f"/api/cases/{case_no}/pre-review", {"answer": "supplement", "materials": ["M03"]})
    assert asked["status"] == "pre_review_supplement"
    notice = wait_notice(notices_dir, mobile, "supplement_needed", case_no)[0]
    assert "本人社会保障卡" in notice["text"] and query_code not in notice["text"]
    # answered once: a second answer while the resident uploads is refused
    twice = net.call("POST", VILLAGE, f"/api/cases/{case_no}/pre-review", {"answer": "pass"})
    assert twice.status_code == 409

    # the resident's upload: a wrong query code opens nothing; the right one uploads
    base = net.launcher.url_of(VILLAGE) + f"/api/portal/applications/{case_no}/materials"
    upload = {"file_M03": ("社保卡.png", png(), "image/png")}
    wrong = requests.post(base, json={"query_code": "WRONG-CODE", "files": encoded(upload)}, timeout=20)
    assert wrong.status_code == 404
    # the API takes JSON only: a form (which another site's page could send) is refused
    form = requests.post(base, data={"query_code": query_code}, files=upload, timeout=20)
    assert form.status_code == 415
    uploaded = requests.post(base, json={"query_code": query_code, "files": encoded(upload)}, timeout=20)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["status"] == "pre_review"
    files_kept = net.get(VILLAGE, f"/api/cases/{case_no}/files")
    assert sorted(f["material"] for f in files_kept["files"]) == ["M01", "M02", "M03"]

    # pass, then the visit with the originals: accepted, one visit, on its way to the district
    net.post(VILLAGE, f"/api/cases/{case_no}/pre-review", {"answer": "pass"})
    accepted = net.post(VILLAGE, f"/api/cases/{case_no}/originals", {})
    assert accepted["acceptance"] == "accepted"
    at_district = net.wait_status(DISTRICT, case_no, "pending_review", timeout=40)
    assert at_district["visits"] == 1 and at_district["channel"] == "online"
    assert [a["answer"] for a in at_district["pre_review"]["answers"]] == ["supplement", "pass"]
    # only a counter of the receiving station answers
    elsewhere = net.call("POST", DISTRICT, f"/api/cases/{case_no}/pre-review", {"answer": "pass"})
    assert elsewhere.status_code in (403, 409)


def test_refused_at_pre_review_with_a_reason(net, notices_dir):
    mobile = "13533334444"
    id_number = make_id("445203", dt.date(1970, 7, 7), 21)
    code = code_for(net, notices_dir, mobile)
    applied = apply(net, application(mobile, code, id_number), {"file_M01": ("a.pdf", pdf(), "application/pdf")})
    case_no = applied.json()["case_no"]
    no_reason = net.call("POST", VILLAGE, f"/api/cases/{case_no}/pre-review", {"answer": "refuse"})
    assert no_reason.status_code == 400
    returned = net.post(VILLAGE, f"/api/cases/{case_no}/pre-review",
                        {"answer": "refuse", "reason": "申请人未参加城乡居民基本养老保险"})
    assert returned["status"] == "returned"
    notice = wait_notice(notices_dir, mobile, "pre_review_answer", case_no)[0]
    assert "申请人未参加城乡居民基本养老保险" in notice["text"]
    assert net.wait_status(DISTRICT, case_no, "returned", timeout=40)["visits"] == 0
