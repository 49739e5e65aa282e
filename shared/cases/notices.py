"""The papers a counter prints: receipt (受理通知书), one-time supplement notice
(一次性告知书), return notice (不予受理/退回通知书)."""


def _materials_lines(materials):
    return [f"{i}. {m['name']}（{'核心' if m['kind'] == 'core' else '次要'}材料，{m.get('copies', 1)}份）"
            for i, m in enumerate(materials, 1)]


def receipt(case, station_name):
    item = case["item"]
    lines = [
        f"申请人 {case['applicant']['name']}：",
        f"您申请的“{item['name']}”已于{case['accepted_at'][:10]}在{station_name}受理，受理编号 {case['case_no']}。",
    ]
    if item["processing_type"] == "immediate":
        lines.append("本事项为即办件，当日办结。")
    else:
        lines.append(f"承诺办结时限 {item['promised_limit_days']} 个工作日（法定 {item['legal_limit_days']} 个工作日），"
                     f"预计 {case['due_date']} 前办结。")
    if case.get("deficiency"):
        lines.append(f"容缺受理：请于 {case['deficiency']['due_date']} 前补交以下材料，补齐前不出具审批结果：")
        lines += _materials_lines(case["deficiency"]["missing"])
    if case["acceptance"] == "accepted_by_commitment":
        lines.append("您已签署告知承诺书，以承诺替代相关材料；如承诺不实，将依法撤销审批结果。")
    lines.append(f"办理结果将在 {station_name} 原窗口发放。查询进度、评价服务请凭受理编号及查询码（随首次出具的通知书交给您，"
                 f"遗失可到受理窗口补发）。")
    return {"kind": "receipt", "title": "受理通知书", "lines": lines}


def supplement_notice(case, station_name, missing):
    lines = [
        f"申请人 {case['applicant']['name']}：",
        f"您申请的“{case['item']['name']}”（编号 {case['case_no']}）材料不齐全，现一次性告知需补正的全部材料：",
        *_materials_lines(missing),
        f"请补齐后到 {station_name} 或就近任一便民服务站补正，补正后即予受理，办理时限自受理之日起计算。",
    ]
    return {"kind": "supplement", "title": "一次性告知书", "lines": lines,
            "missing": [m["code"] for m in missing]}


def return_notice(case, station_name, reason):
    lines = [
        f"申请人 {case['applicant']['name']}：",
        f"您申请的“{case['item']['name']}”（编号 {case['case_no']}）不予受理，理由如下：",
        reason,
        "如对本决定有异议，可依法申请行政复议或提起行政诉讼。",
        f"{station_name}",
    ]
    return {"kind": "return", "title": "退回（不予受理）通知书", "lines": lines, "reason": reason}
