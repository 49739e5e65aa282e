"""Users and their logins; the departments of each case for the department desks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Every request is now made by a user of the station (shared/auth). `cases.departments`
lists every department deciding a case (",a,b,"), so a joint case appears in the queue
of each of its departments; existing rows are filled in from their snapshot.
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "login_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_login_sessions_username", "login_sessions", ["username"])
    op.create_index("ix_login_sessions_expires_at", "login_sessions", ["expires_at"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("departments", sa.String(length=400), nullable=False, server_default=""))
    cases = sa.table("cases", sa.column("case_no", sa.String), sa.column("snapshot", sa.JSON),
                     sa.column("departments", sa.String))
    connection = op.get_bind()
    for case_no, snapshot in connection.execute(sa.select(cases.c.case_no, cases.c.snapshot)).all():
        if isinstance(snapshot, str):
            snapshot = json.loads(snapshot)
        item = snapshot["item"]
        codes = [item["department"], *[d for d in item.get("joint_departments") or [] if d != item["department"]]]
        connection.execute(cases.update().where(cases.c.case_no == case_no)
                           .values(departments="," + ",".join(codes) + ","))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("departments")
    op.drop_index("ix_login_sessions_expires_at", table_name="login_sessions")
    op.drop_index("ix_login_sessions_username", table_name="login_sessions")
    op.drop_table("login_sessions")
    op.drop_table("users")
