"""deputy check-in: a deputy's duty PIN (hashed)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 00:00:00

The hash of the PIN a deputy types at the kiosk to check in for duty; the
hub keeps it and the stations receive it in the pull.

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


def downgrade():
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.drop_column('pin_hash')
