"""Drop the unused dead_letters table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09

The first release made a `dead_letters` table for messages its consumers gave up on, but
no release ever wrote to it: a failed message goes to the broker's dead-letter exchange
and waits in a dead-letter queue, where administrators list and retry it
(services/dead_letters.py). The table is always empty, so dropping it loses nothing;
the downgrade makes it again as 0001 did.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("dead_letters")


def downgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.Column("retried_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", "queue", name="uq_dead_letter"),
    )
