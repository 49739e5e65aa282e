"""Failed-login counts, lockouts, forced password changes and idle sessions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Logins could be guessed without limit. Failures are now counted per username and per
client address (`login_failures`), growing delays and a lockout follow from the counts
(shared/auth/login_guard.py). A user whose password someone else chose (the sample
staff) must change it before anything else (`users.must_change_password`; the sample
users existing before this revision are flagged). Sessions end after 30 idle minutes
(`login_sessions.last_seen_at`) and show where they were opened.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# the sample staff's usernames (shared/auth/staffing.py): whoever has not changed a
# sample account's password since it was made must do so at the next login
SAMPLE_USERNAMES = ("agent", "staff", "clerk", "admin", "supervisor")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("password_changed_at", sa.DateTime(), nullable=True))
    users = sa.table("users", sa.column("username", sa.String), sa.column("must_change_password", sa.Boolean))
    op.execute(users.update().where(sa.or_(users.c.username.in_(SAMPLE_USERNAMES),
                                           users.c.username.like("%.reviewer"),
                                           users.c.username.like("%.approver")))
               .values(must_change_password=True))
    with op.batch_alter_table("login_sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("client_address", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("user_agent", sa.String(length=200), nullable=False, server_default=""))
    op.create_table(
        "login_failures",
        sa.Column("subject", sa.String(length=120), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_login_failures_last_failed_at", "login_failures", ["last_failed_at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_last_failed_at", table_name="login_failures")
    op.drop_table("login_failures")
    with op.batch_alter_table("login_sessions") as batch:
        batch.drop_column("user_agent")
        batch.drop_column("client_address")
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_changed_at")
        batch.drop_column("must_change_password")
