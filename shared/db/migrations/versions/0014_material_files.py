"""Uploaded materials' files, kept with the case and sent along its route.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

Issue 16. A material of a case can be a file (PDF, JPEG or PNG) uploaded at the counter
or through the online hall (shared/materials_files/). Its bytes are kept once per content,
keyed by their SHA-256 (material_blobs), in the station's database so that a file and its
row commit together; each case's files are listed in material_files (case, material,
hash, size, type, who uploaded it and where, when it was verified here). A station that
hands a case on sends its files with it (case.file messages), and the receiving station
keeps a file only once its hash is verified.
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "material_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "material_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_no", sa.String(length=40), nullable=False),
        sa.Column("material", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("station", sa.String(length=12), nullable=False),
        sa.Column("received_from", sa.String(length=12), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_material_files_case_file", "material_files", ["case_no", "material", "sha256"],
                    unique=True)


def downgrade() -> None:
    op.drop_index("uq_material_files_case_file", table_name="material_files")
    op.drop_table("material_files")
    op.drop_table("material_blobs")
