"""Online applications, pre-review and visits: the cases' summary columns for them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

Issue 16. A case filed online (shared/cases/pre_review.py) carries `channel: "online"`,
its pre-review answers and the resident's `visits` to a counter in its snapshot; the
district's figures (online application rate, shares with 0 and at most 1 visit, average
visits, pre-reviews answered within their limit) count them with SQL aggregates from
these columns, kept by CaseRepository.save with the snapshot (shared/cases/summary.py).

Every case stored before this revision was filed at a counter: not online, one visit,
no pre-review; the columns' defaults and the UPDATE below say so without reading the
snapshots.
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("online", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("visits", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pre_review_answers", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("pre_review_on_time", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE cases SET visits = 1")


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("pre_review_on_time")
        batch.drop_column("pre_review_answers")
        batch.drop_column("visits")
        batch.drop_column("online")
