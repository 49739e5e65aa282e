"""The first released schema of the station database.

Revision ID: 0001
Revises: -
Create Date: 2026-11-22

Every table as shared/db/models.py defined them when migrations were introduced (made
with `alembic revision --autogenerate` against an empty database, then reviewed).
Databases made before then by `create_all` have exactly this schema and are stamped
with this revision (shared/db/migrate.py). Released: never edit it; add a revision.
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_schedules',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('year')
    )
    op.create_table('case_history',
        sa.Column('entry_id', sa.String(length=64), nullable=False),
        sa.Column('case_no', sa.String(length=40), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('at', sa.String(length=40), nullable=False),
        sa.Column('station', sa.String(length=12), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('from_status', sa.String(length=30), nullable=True),
        sa.Column('to_status', sa.String(length=30), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('entry_id')
    )
    op.create_index(op.f('ix_case_history_case_no'), 'case_history', ['case_no'])
    op.create_table('case_sequences',
        sa.Column('station', sa.String(length=12), nullable=False),
        sa.Column('day', sa.String(length=8), nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('station', 'day')
    )
    op.create_table('cases',
        sa.Column('case_no', sa.String(length=40), nullable=False),
        sa.Column('item_code', sa.String(length=16), nullable=False),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=30), nullable=False),
        sa.Column('filing_station', sa.String(length=12), nullable=False),
        sa.Column('deciding_station', sa.String(length=12), nullable=True),
        sa.Column('holder_station', sa.String(length=12), nullable=False),
        sa.Column('held_here', sa.Boolean(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('filed_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('case_no')
    )
    op.create_index(op.f('ix_cases_deciding_station'), 'cases', ['deciding_station'])
    op.create_index(op.f('ix_cases_department'), 'cases', ['department'])
    op.create_index(op.f('ix_cases_filing_station'), 'cases', ['filing_station'])
    op.create_index(op.f('ix_cases_holder_station'), 'cases', ['holder_station'])
    op.create_index(op.f('ix_cases_item_code'), 'cases', ['item_code'])
    op.create_index(op.f('ix_cases_status'), 'cases', ['status'])
    op.create_table('catalogue_changes',
        sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('item_code', sa.String(length=16), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('made_at', sa.String(length=40), nullable=False),
        sa.Column('made_by', sa.String(length=100), nullable=False),
        sa.Column('applied_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('version')
    )
    op.create_table('dead_letters',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('queue', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('failed_at', sa.DateTime(), nullable=False),
        sa.Column('retried_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id', 'queue', name='uq_dead_letter')
    )
    op.create_table('follow_up_answers',
        sa.Column('case_no', sa.String(length=40), nullable=False),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('answered_by', sa.String(length=50), nullable=False),
        sa.Column('answered_at', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('case_no')
    )
    op.create_table('items',
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('processing_type', sa.String(length=20), nullable=False),
        sa.Column('authority_tier', sa.String(length=10), nullable=False),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_items_department'), 'items', ['department'])
    op.create_index(op.f('ix_items_name'), 'items', ['name'])
    op.create_table('outbox',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('exchange', sa.String(length=100), nullable=False),
        sa.Column('routing_key', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id')
    )
    op.create_index('ix_outbox_unsent', 'outbox', ['sent_at', 'id'])
    op.create_table('pending_case_updates',
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('case_no', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('message_id')
    )
    op.create_index(op.f('ix_pending_case_updates_case_no'), 'pending_case_updates', ['case_no'])
    op.create_table('processed_messages',
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('processed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('message_id')
    )
    op.create_table('station_alerts',
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('case_no', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('raised_at', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('message_id')
    )
    op.create_index(op.f('ix_station_alerts_case_no'), 'station_alerts', ['case_no'])
    op.create_table('supervision_alerts',
        sa.Column('case_no', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('station', sa.String(length=12), nullable=False),
        sa.Column('raised_at', sa.String(length=40), nullable=False),
        sa.Column('due_date', sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint('case_no', 'kind')
    )
    op.create_index(op.f('ix_supervision_alerts_department'), 'supervision_alerts', ['department'])


def downgrade() -> None:
    op.drop_table('supervision_alerts')
    op.drop_table('station_alerts')
    op.drop_table('processed_messages')
    op.drop_table('pending_case_updates')
    op.drop_table('outbox')
    op.drop_table('items')
    op.drop_table('follow_up_answers')
    op.drop_table('dead_letters')
    op.drop_table('catalogue_changes')
    op.drop_table('cases')
    op.drop_table('case_sequences')
    op.drop_table('case_history')
    op.drop_table('calendar_schedules')
