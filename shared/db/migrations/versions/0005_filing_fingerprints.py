"""A fingerprint of each filing kept with its request id.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A request id sent again with a different body answered with the first case, so a
client that reused an id handed a resident another resident's case number. The
station now keeps a digest of the filing's body with the id and refuses a different
body (HTTP 422). Ids stored before this migration have no digest and are answered as
before.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("filing_requests") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("filing_requests") as batch:
        batch.drop_column("fingerprint")
