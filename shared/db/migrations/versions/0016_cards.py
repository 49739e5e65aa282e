"""Supervision cards with states and their history (issue 19).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

The patrol's alerts (supervision_alerts: due-soon warnings, yellow and red cards) get a
state (shared/supervision/cards.py): issued -> explained by the responsible department
-> confirmed or revoked by the supervisor. `supervision_cards` holds where a card stands
once a step was taken on it (an alert without a row is still `issued`, so the alerts
already raised need no copying), `supervision_card_steps` every step, append-only.
Stations other than the district leave both tables empty.
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_cards",
        sa.Column("case_no", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("explained_by", sa.String(length=100), nullable=True),
        sa.Column("explained_at", sa.String(length=40), nullable=True),
        sa.Column("explained_late", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.String(length=40), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("case_no", "kind"),
    )
    op.create_index(op.f("ix_supervision_cards_state"), "supervision_cards", ["state"])
    op.create_table(
        "supervision_card_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("from_state", sa.String(length=12), nullable=False),
        sa.Column("to_state", sa.String(length=12), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_supervision_card_steps_card", "supervision_card_steps", ["case_no", "kind", "id"])


def downgrade() -> None:
    op.drop_index("ix_supervision_card_steps_card", table_name="supervision_card_steps")
    op.drop_table("supervision_card_steps")
    op.drop_index(op.f("ix_supervision_cards_state"), table_name="supervision_cards")
    op.drop_table("supervision_cards")
