"""Supervision cards with states and their history (issue 19).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03

Placeholder committed first so issue 19's migration chains after issue 16's 0015; the card
state columns and the card history table are added in the next commit.
"""

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
