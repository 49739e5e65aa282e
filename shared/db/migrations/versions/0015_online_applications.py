"""Online applications, pre-review and visits (issue 16).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

Placeholder committed first so the three migrations of issue 16 chain 0013 -> 0014 -> 0015;
the columns and tables are added in the next commit.
"""

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
