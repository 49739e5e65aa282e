"""The district's record of the service halls' visits, for the hall figures.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Issue 17. Each station tells the district about every ticket it closes (finished or a
no-show) and every appointment missed (the `hall.visit` message, shared/contract.py);
the district keeps one row per visit (station, day, ticket or booking number), so a
message delivered twice is kept once, and answers /api/stats' hall figures from these
rows with GROUP BY. Stations other than the district leave the table empty.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FIGURE_COLUMNS = ["day", "station", "tier", "window_type", "hour", "status", "kind", "wait_seconds",
                  "service_seconds"]


def upgrade() -> None:
    op.create_table(
        "hall_visits",
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visit_no", sa.String(length=20), nullable=False),
        sa.Column("tier", sa.String(length=12), nullable=False),
        sa.Column("window_type", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("booking_no", sa.String(length=20), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=True),
        sa.Column("called_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("hour", sa.Integer(), nullable=True),
        sa.Column("wait_seconds", sa.Integer(), nullable=True),
        sa.Column("service_seconds", sa.Integer(), nullable=True),
        sa.Column("case_no", sa.String(length=40), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("station", "day", "visit_no"),
    )
    op.create_index("ix_hall_visits_figures", "hall_visits", FIGURE_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_hall_visits_figures", table_name="hall_visits")
    op.drop_table("hall_visits")
