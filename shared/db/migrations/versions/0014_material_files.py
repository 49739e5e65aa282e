"""Uploaded materials' files, kept with the case and sent along its route.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

Issue 16. Placeholder committed first so the three migrations of issue 16 chain
(0013 notices -> 0014 material files -> 0015 online applications); the table is
added in the next commit.
"""

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
