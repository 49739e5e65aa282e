"""一件事一次办 bundles in the catalogue (issue 18, points 1 and 7).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

Every station: `bundles` holds the current state of each bundle (一件事), retired ones
included, like `items` does for items. It is written only by applying the catalogue's
versioned change log (kind "bundle"), at the district and at every replica, so a
replica's rows equal the master's. `payload` is the whole bundle as
shared/catalogue/bundles.py validates it (items, questionnaire, merged materials,
prerequisites, limit, tiers).
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bundles",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("promised_limit_days", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index("ix_bundles_name", "bundles", ["name"])


def downgrade() -> None:
    op.drop_index("ix_bundles_name", table_name="bundles")
    op.drop_table("bundles")
