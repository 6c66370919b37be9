"""duty roster: deputies on duty at stations (值班/接待日)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 00:18:55

One row per deputy, station and local date. Written at the hub by township
staff; a station holds its own shifts from today on, brought by the pull.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('duty_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_code', sa.String(length=8), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('starts', sa.Time(), nullable=True),
    sa.Column('ends', sa.Time(), nullable=True),
    sa.Column('note', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('starts IS NULL OR ends IS NULL OR starts < ends', name='duty_shift_times'),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['station_code'], ['stations.code'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('station_code', 'on', 'deputy_id', name='uq_duty_shifts_station_on_deputy')
    )
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_shifts_deputy_id'), ['deputy_id'], unique=False)


def downgrade():
    with op.batch_alter_table('duty_shifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_shifts_deputy_id'))

    op.drop_table('duty_shifts')
