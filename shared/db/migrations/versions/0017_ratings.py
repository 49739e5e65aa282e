"""好差评 cycle at the district (issue 20, points 1-3): ratings, rectifications, appeals.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03

District only (other stations leave these tables empty), all written by the district:
* `ratings`: one row per rated case: the level a resident gave (copied from the case's
  record when it reaches the district) or 「基本满意（默认）」 given by the patrol to a
  case left unrated 7 days after completion (`is_default`); `annulled` once an appeal
  succeeded (the row stays, the statistics leave it out).
* `rectifications`: the 整改 order a bad rating opens for the responsible office (a
  department, or the counter's station), with its due date, the office's action, the
  follow-up call (回访), the resident's rating of the rectification.
* `rating_appeals`: an office's appeal (申诉) against a rating and the supervisor's decision.
* `rating_steps`: every step on a rating, rectification or appeal, append-only.
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("case_no", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), server_default="", nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("rated_by", sa.String(length=100), server_default="", nullable=False),
        sa.Column("rated_at", sa.String(length=40), nullable=False),
        sa.Column("rated_on", sa.Date(), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("deciding_station", sa.String(length=12), nullable=True),
        sa.Column("filing_station", sa.String(length=12), nullable=False),
        sa.Column("annulled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("case_no"),
    )
    op.create_index("ix_ratings_rated_on", "ratings", ["rated_on"])
    op.create_index("ix_ratings_department", "ratings", ["department"])
    op.create_table(
        "rectifications",
        sa.Column("case_no", sa.String(length=40), nullable=False),
        sa.Column("office", sa.String(length=40), nullable=False),
        sa.Column("office_kind", sa.String(length=12), nullable=False),
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("opened_at", sa.String(length=40), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("acted_by", sa.String(length=100), nullable=True),
        sa.Column("acted_on", sa.Date(), nullable=True),
        sa.Column("follow_up", sa.Text(), nullable=True),
        sa.Column("followed_up_by", sa.String(length=100), nullable=True),
        sa.Column("followed_up_on", sa.Date(), nullable=True),
        sa.Column("resident_level", sa.String(length=20), nullable=True),
        sa.Column("card_raised", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("case_no"),
    )
    op.create_index("ix_rectifications_state", "rectifications", ["state"])
    op.create_index("ix_rectifications_office", "rectifications", ["office"])
    op.create_table(
        "rating_appeals",
        sa.Column("case_no", sa.String(length=40), nullable=False),
        sa.Column("office", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("appealed_by", sa.String(length=100), nullable=False),
        sa.Column("appealed_at", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.String(length=40), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("case_no"),
    )
    op.create_index("ix_rating_appeals_state", "rating_appeals", ["state"])
    op.create_table(
        "rating_steps",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rating_steps_case", "rating_steps", ["case_no", "id"])


def downgrade() -> None:
    op.drop_index("ix_rating_steps_case", table_name="rating_steps")
    op.drop_table("rating_steps")
    op.drop_index("ix_rating_appeals_state", table_name="rating_appeals")
    op.drop_table("rating_appeals")
    op.drop_index("ix_rectifications_office", table_name="rectifications")
    op.drop_index("ix_rectifications_state", table_name="rectifications")
    op.drop_table("rectifications")
    op.drop_index("ix_ratings_department", table_name="ratings")
    op.drop_index("ix_ratings_rated_on", table_name="ratings")
    op.drop_table("ratings")
