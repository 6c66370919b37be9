"""limits: failures counted by kind and key (wrong PINs, wrong 验证码)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 23:00:00

The counts behind kiosk.limits, which were kept in each process's memory
(the 验证码 limiter) or not at all (the sync admin PIN): in the database,
every worker sees them and a restart forgets none.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('limit_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('limit_failures', schema=None) as batch_op:
        batch_op.create_index('ix_limit_failures_kind_key_at', ['kind', 'key', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('limit_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_limit_failures_kind_key_at')

    op.drop_table('limit_failures')
