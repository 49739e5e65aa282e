"""Notices to residents (an SMS outbox) and one-time codes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

Issue 16. A change that concerns a resident (a case accepted, materials to supplement, a
pre-review answer, a result ready, an appointment tomorrow, a one-time code) writes a
`resident_notices` row in its own transaction (shared/notices/outbox.py); the station's
notice sender sends each row once through the SMS channel, the row's `notice_id` being
the gateway's idempotency key (out_id). `one_time_codes` keeps the portal's 6-digit
codes, hashed, with their expiry, tries and the address that asked (for the limits).
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resident_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notice_id", sa.String(length=36), nullable=False),
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("mobile", sa.String(length=11), nullable=False),
        sa.Column("template_id", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("case_no", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("failed_reason", sa.String(length=200), nullable=True),
        sa.Column("abandoned_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_resident_notices_notice_id", "resident_notices", ["notice_id"], unique=True)
    op.create_index("ix_resident_notices_due", "resident_notices", ["sent_at", "abandoned_at", "next_attempt_at"])
    op.create_index("ix_resident_notices_case_no", "resident_notices", ["case_no"])

    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("mobile", sa.String(length=11), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_one_time_codes_mobile", "one_time_codes", ["mobile", "created_at"])
    op.create_index("ix_one_time_codes_client", "one_time_codes", ["client", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_one_time_codes_client", table_name="one_time_codes")
    op.drop_index("ix_one_time_codes_mobile", table_name="one_time_codes")
    op.drop_table("one_time_codes")
    op.drop_index("ix_resident_notices_case_no", table_name="resident_notices")
    op.drop_index("ix_resident_notices_due", table_name="resident_notices")
    op.drop_index("uq_resident_notices_notice_id", table_name="resident_notices")
    op.drop_table("resident_notices")
