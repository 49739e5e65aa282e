"""The cases' summary columns, for the district's figures at year scale.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

The district's figures, lights and follow-ups read every case's JSON snapshot in Python:
a year (122,493 cases) took 113 s. The facts they count by now sit in columns beside the
snapshot (shared/cases/summary.py derives them; CaseRepository.save keeps them with the
case), so the database answers with GROUP BY. Existing rows are filled in here from
their snapshots with the same functions, the working days of decided cases counted on
the station's published calendar, a thousand rows at a time.
"""
import json

import sqlalchemy as sa
from alembic import op

from shared.calendar import Schedule, WorkingDayCalendar
from shared.cases.summary import COLUMNS, summary, working_days_taken

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

def _new_columns():
    return [
        sa.Column("filed_date", sa.Date(), nullable=True),
        sa.Column("filing_tier", sa.String(length=12), nullable=True),
        sa.Column("item_name", sa.String(length=100), nullable=True),
        sa.Column("item_category", sa.String(length=30), nullable=True),
        sa.Column("promised_limit_days", sa.Integer(), nullable=True),
        sa.Column("legal_limit_days", sa.Integer(), nullable=True),
        sa.Column("acceptance", sa.String(length=30), nullable=True),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("returned", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("paused_since", sa.Date(), nullable=True),
        sa.Column("paused_working_days", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.Column("rating_score", sa.Integer(), nullable=True),
    ]


INDEXES = [
    # lists by department and status, newest first (replaces 0002's department, status)
    ("ix_cases_department_status_filed", ["department", "status", "filed_at"]),
    # the figures read from the index alone (see shared/db/models.py)
    ("ix_cases_figures", ["filed_date", "filing_station", "filing_tier", "department", "item_code",
                          "item_category", "item_name", "accepted_on", "returned", "decided_on", "due_date",
                          "working_days", "promised_limit_days", "legal_limit_days", "rating_score", "case_no"]),
    ("ix_cases_rating_score", ["rating_score"]),
]
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for column in _new_columns():
            batch.add_column(column)
    _backfill(op.get_bind())
    for name, columns in INDEXES:
        op.create_index(name, "cases", columns)
    op.drop_index("ix_cases_department_status", table_name="cases")


def _backfill(connection):
    schedules = sa.table("calendar_schedules", sa.column("year", sa.Integer), sa.column("payload", sa.JSON))
    payloads = connection.execute(sa.select(schedules.c.payload).order_by(schedules.c.year)).scalars()
    calendar = WorkingDayCalendar(Schedule.from_dict(_json(p)) for p in payloads)
    cases = sa.table("cases", sa.column("case_no", sa.String), sa.column("snapshot", sa.JSON),
                     *(sa.column(c.name, c.type) for c in _new_columns()))
    update = (cases.update().where(cases.c.case_no == sa.bindparam("no"))
              .values({c: sa.bindparam(c) for c in (*COLUMNS, "working_days")}))
    last = ""
    while True:
        rows = connection.execute(sa.select(cases.c.case_no, cases.c.snapshot).where(cases.c.case_no > last)
                                  .order_by(cases.c.case_no).limit(BATCH)).all()
        if not rows:
            return
        values = []
        for case_no, snapshot in rows:
            columns = summary(_json(snapshot))
            values.append({"no": case_no, **columns, "working_days": working_days_taken(columns, calendar)})
        connection.execute(update, values)
        last = rows[-1][0]


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def downgrade() -> None:
    op.create_index("ix_cases_department_status", "cases", ["department", "status"])
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="cases")
    with op.batch_alter_table("cases") as batch:
        for column in reversed(_new_columns()):
            batch.drop_column(column.name)
