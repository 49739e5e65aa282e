"""The service hall: slots, appointments, queue tickets and their counters.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

Issue 17. A station publishes bookable half days per window type (hall_slots, a row made
when first booked), residents book them (hall_appointments), the hall issues queue
tickets (hall_tickets) numbered from a counter row per day and window type
(hall_ticket_counters), so numbers survive a restart and start again each day.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hall_slots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("half_day", sa.String(length=2), nullable=False),
        sa.Column("window_type", sa.String(length=2), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_hall_slots_slot", "hall_slots", ["station", "day", "half_day", "window_type"],
                    unique=True)

    op.create_table(
        "hall_appointments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("booking_no", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("half_day", sa.String(length=2), nullable=False),
        sa.Column("window_type", sa.String(length=2), nullable=False),
        sa.Column("item_code", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("mobile", sa.String(length=11), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("booked_by", sa.String(length=50), nullable=False),
        sa.Column("booked_at", sa.DateTime(), nullable=False),
        sa.Column("moves", sa.Integer(), nullable=False),
        sa.Column("moved_from", sa.String(length=20), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_hall_appointments_booking_no", "hall_appointments", ["station", "booking_no"],
                    unique=True)
    op.create_index("ix_hall_appointments_day_status", "hall_appointments", ["station", "day", "status"])
    op.create_index("ix_hall_appointments_id_number", "hall_appointments", ["id_number"])

    op.create_table(
        "hall_ticket_counters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window_type", sa.String(length=2), nullable=False),
        sa.Column("series", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_hall_ticket_counters", "hall_ticket_counters",
                    ["station", "day", "window_type", "series"], unique=True)

    op.create_table(
        "hall_tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window_type", sa.String(length=2), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("applicant_name", sa.String(length=50), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("priority_reason", sa.String(length=12), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by", sa.String(length=50), nullable=False),
        sa.Column("called_at", sa.DateTime(), nullable=True),
        sa.Column("announced_at", sa.DateTime(), nullable=True),
        sa.Column("window", sa.String(length=8), nullable=True),
        sa.Column("called_by", sa.String(length=50), nullable=True),
        sa.Column("recalls", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("no_show_at", sa.DateTime(), nullable=True),
        sa.Column("case_no", sa.String(length=40), nullable=True),
        sa.Column("sent_to_district", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_hall_tickets_number", "hall_tickets", ["station", "day", "window_type", "number"],
                    unique=True)
    op.create_index("ix_hall_tickets_queue", "hall_tickets", ["station", "day", "window_type", "status"])
    op.create_index("ix_hall_tickets_announced", "hall_tickets", ["station", "day", "announced_at"])


def downgrade() -> None:
    op.drop_table("hall_tickets")
    op.drop_table("hall_ticket_counters")
    op.drop_table("hall_appointments")
    op.drop_table("hall_slots")
