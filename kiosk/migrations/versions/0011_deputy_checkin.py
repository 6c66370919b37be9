"""deputy check-in: the duty PIN (hashed) and the records of a deputy on duty

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 00:00:00

The hash of the PIN a deputy types at the kiosk to check in for duty; the
hub keeps it and the stations receive it in the pull. Check-ins, check-outs,
reception-log entries and assisted entries: records made at a station and
pushed to the hub like opinions.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_hash', sa.String(length=200), nullable=True))
    op.create_table('duty_checkins',
    sa.Column('station_code', sa.String(length=8), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('hub_received_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('sync_digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id']),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('duty_checkins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_checkins_acknowledged_at'), ['acknowledged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_checkins_deputy_id'), ['deputy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_checkins_station_code'), ['station_code'], unique=False)
    op.create_table('duty_checkouts',
    sa.Column('checkin_uuid', sa.String(length=36), nullable=False),
    sa.Column('ended_by', sa.String(length=8), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('hub_received_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('sync_digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['checkin_uuid'], ['duty_checkins.uuid']),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('duty_checkouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_checkouts_acknowledged_at'), ['acknowledged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_checkouts_checkin_uuid'), ['checkin_uuid'], unique=True)
    op.create_table('reception_entries',
    sa.Column('checkin_uuid', sa.String(length=36), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('about', sa.Text(), nullable=True),
    sa.Column('receipt_numbers', sa.String(length=400), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('hub_received_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('sync_digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['checkin_uuid'], ['duty_checkins.uuid']),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('reception_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reception_entries_acknowledged_at'), ['acknowledged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reception_entries_checkin_uuid'), ['checkin_uuid'], unique=False)
    op.create_table('assisted_entries',
    sa.Column('checkin_uuid', sa.String(length=36), nullable=False),
    sa.Column('opinion_uuid', sa.String(length=36), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('hub_received_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('sync_digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['checkin_uuid'], ['duty_checkins.uuid']),
    sa.ForeignKeyConstraint(['opinion_uuid'], ['opinions.uuid']),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('assisted_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assisted_entries_acknowledged_at'), ['acknowledged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assisted_entries_checkin_uuid'), ['checkin_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_assisted_entries_opinion_uuid'), ['opinion_uuid'], unique=True)


def downgrade():
    for table in ('assisted_entries', 'reception_entries', 'duty_checkouts', 'duty_checkins'):
        op.drop_table(table)
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.drop_column('pin_hash')
