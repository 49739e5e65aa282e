"""The figures index holds issue 16's columns too, so `/api/stats` reads the index alone.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

`ix_cases_figures` (0010) holds every column the district's figures read, so SQLite
counts a period from the index without the table's rows (their summary columns come
after the snapshot). The online columns added by 0015 (`online`, `visits`,
`pre_review_answers`, `pre_review_on_time`) were left out, and every `/api/stats` call
read each case's row again: on a year's record (122,493 cases) a year by station took
about 370 ms on SQLite on a quiet machine, 160 ms with them in the index. The index is
made again with them, before `case_no`.
"""
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BEFORE = ["filed_date", "filing_station", "filing_tier", "department", "item_code", "item_category", "item_name",
          "accepted_on", "returned", "decided_on", "due_date", "working_days", "promised_limit_days",
          "legal_limit_days", "rating_score", "case_no"]
AFTER = [*BEFORE[:-1], "online", "visits", "pre_review_answers", "pre_review_on_time", "case_no"]


def upgrade() -> None:
    op.drop_index("ix_cases_figures", table_name="cases")
    op.create_index("ix_cases_figures", "cases", AFTER)


def downgrade() -> None:
    op.drop_index("ix_cases_figures", table_name="cases")
    op.create_index("ix_cases_figures", "cases", BEFORE)
