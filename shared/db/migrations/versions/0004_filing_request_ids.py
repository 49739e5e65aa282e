"""Request ids of filings, so a filing sent twice makes one case.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

A counter whose answer to POST /api/cases was lost (a weak link, a reload, a double
click) filed the same resident's case a second time. A filing may now carry a
`request_id`; the station remembers which case each id made.
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "filing_requests",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("case_no", sa.String(length=40), nullable=False),
        sa.Column("filed_by", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )


def downgrade() -> None:
    op.drop_table("filing_requests")
