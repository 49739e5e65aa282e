"""Query codes and counted attempts for residents' case lookups.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Residents looked up a case with its (sequential) number and the last 4 characters of
the applicant's ID number, which every staff list shows, without any limit. A case now
carries a random query code, kept only as a salted hash inside the case record (no
column: the record travels to the district as it is). The lookups not known to have
succeeded are counted here, per case number and per client address, to refuse
guessing (shared/cases/lookup_limits.py). Cases filed before this revision have no
code until a counter issues one (a reprinted receipt).
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resident_lookup_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_no", sa.String(length=40), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_resident_lookup_attempts_case_no_at", "resident_lookup_attempts", ["case_no", "at"])
    op.create_index("ix_resident_lookup_attempts_client_at", "resident_lookup_attempts", ["client", "at"])
    op.create_index("ix_resident_lookup_attempts_at", "resident_lookup_attempts", ["at"])


def downgrade() -> None:
    op.drop_index("ix_resident_lookup_attempts_at", table_name="resident_lookup_attempts")
    op.drop_index("ix_resident_lookup_attempts_client_at", table_name="resident_lookup_attempts")
    op.drop_index("ix_resident_lookup_attempts_case_no_at", table_name="resident_lookup_attempts")
    op.drop_table("resident_lookup_attempts")
