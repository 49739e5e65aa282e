"""Indexes for the case lists and the district's figures.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

`GET /api/cases` filters by department and status and always shows the newest cases
first; at the district, which holds a record of every case of the year (170,000 in the
sample district), that was a scan and a sort of the whole table per page. Statistics
select cases by the day they were filed.
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_department_status", "cases", ["department", "status"])
    op.create_index("ix_cases_filed_at", "cases", ["filed_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_filed_at", table_name="cases")
    op.drop_index("ix_cases_department_status", table_name="cases")
