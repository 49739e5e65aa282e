"""The access audit: who saw or changed what, and every login.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

`access_audit` is append-only. Nothing in the code updates or deletes its rows, and the
database refuses it too: a trigger (SQLite and PostgreSQL) aborts any UPDATE or DELETE.
`access_audit_unsent` lists a station's entries not yet copied to the district.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

REFUSAL = "access_audit is append-only"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER access_audit_no_{verb.lower()} BEFORE {verb} ON access_audit "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    for verb in ("UPDATE", "DELETE")
]

POSTGRESQL_TRIGGER = [
    f"""CREATE FUNCTION access_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$""",
    """CREATE TRIGGER access_audit_append_only BEFORE UPDATE OR DELETE ON access_audit
        FOR EACH ROW EXECUTE FUNCTION access_audit_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "access_audit",
        sa.Column("entry_id", sa.String(length=32), primary_key=True),
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("case_no", sa.String(length=40), nullable=True),
        sa.Column("shown", sa.String(length=100), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
    )
    op.create_index("ix_access_audit_station_at", "access_audit", ["station", "at"])
    op.create_index("ix_access_audit_at", "access_audit", ["at"])
    op.create_index("ix_access_audit_username", "access_audit", ["username"])
    op.create_index("ix_access_audit_case_no", "access_audit", ["case_no"])
    op.create_table(
        "access_audit_unsent",
        sa.Column("entry_id", sa.String(length=32), primary_key=True),
    )
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGER}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("access_audit_unsent")
    op.drop_table("access_audit")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION access_audit_append_only()")
