"""hub database: its generation (a restored backup is a new one) and newest backup

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-06 02:00:00

A hub restored from a backup may lack records stations had sent and changes
they had pulled: its new generation tells them to send again and pull from
the start. Stations keep an acknowledged name and phone until a backup holds
them, so the restored copy never lacks what they deleted.

"""
import secrets

from alembic import op
import sqlalchemy as sa

from kiosk.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    hub_database = op.create_table(
        'hub_database',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('generation', sa.String(length=32), nullable=False),
        sa.Column('backed_up_at', UTCDateTime(), nullable=True),
        sa.Column('restored_at', UTCDateTime(), nullable=True),
        sa.CheckConstraint('id = 1', name='hub_database_single_row'),
        sa.PrimaryKeyConstraint('id'),
    )
    # One row from the start: every worker reads it, none has to make it.
    op.bulk_insert(hub_database, [{'id': 1, 'generation': secrets.token_hex(16)}])
    with op.batch_alter_table('sync_state') as batch_op:
        batch_op.add_column(sa.Column('hub_generation', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('resending', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('sync_state') as batch_op:
        batch_op.drop_column('resending')
        batch_op.drop_column('hub_generation')
    op.drop_table('hub_database')
