"""The access audit as a CSV file for Excel: UTF-8 with a byte-order mark (without it
Excel reads Chinese as mojibake), one header row in Chinese, one row per entry.

A cell that starts like a formula (= + - @, or a tab or carriage return) is prefixed
with an apostrophe: a username tried at a failed login is typed by whoever tried it,
and `=HYPERLINK(...)` must reach the supervisor's spreadsheet as text, not as a formula
(CSV injection)."""
import csv
import datetime as dt
import io

from shared.audit.entries import KIND_LABELS, OUTCOME_LABELS, SHOWN_LABELS
from shared.clock import DISTRICT_TZ

COLUMNS = ("时间", "站点编码", "站点", "用户名", "角色", "类别", "操作", "结果", "办件编号", "显示的完整信息",
           "客户端地址", "渠道", "记录编号")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def local_time(at):
    """A naive UTC datetime as the district's local time, to the second."""
    return at.replace(tzinfo=dt.timezone.utc).astimezone(DISTRICT_TZ).strftime("%Y-%m-%d %H:%M:%S")


def csv_bytes(entries, station_name=lambda code: code, role_name=lambda role: role):
    """The CSV file (bytes) of `entries` (dicts as AuditLog.search gives them)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for e in entries:
        shown = "、".join(SHOWN_LABELS.get(f, f) for f in e["shown"].split(",") if f)
        writer.writerow([as_text(v) for v in (
            local_time(e["at"]), e["station"], station_name(e["station"]), e["username"],
            role_name(e["role"]) if e["role"] else "", KIND_LABELS.get(e["kind"], e["kind"]), e["action"],
            OUTCOME_LABELS.get(e["outcome"], e["outcome"]), e["case_no"] or "", shown, e["client"],
            e["channel"], e["entry_id"])])
    return out.getvalue().encode("utf-8-sig")
