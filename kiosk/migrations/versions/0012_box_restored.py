"""box restored: when `backup restore` put a backup in place of the database

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 00:10:00

A restored station may have issued receipts after its backup was taken: it
takes no submit until a sync has raised its receipt counters past the hub's
and re-sent what the hub lacks, and this column says so until then.

"""
from alembic import op
import sqlalchemy as sa

from kiosk.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('box_identity') as batch_op:
        batch_op.add_column(sa.Column('restored_at', UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('box_identity') as batch_op:
        batch_op.drop_column('restored_at')
