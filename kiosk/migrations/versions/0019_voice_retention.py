"""voice messages: when the hub erased a recording's bytes under retention

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 06:00:00

A constituent's voice is kept like their name and phone: erased a set time
after the opinion is finished. The transcript stays; the page says when the
recording went.

"""
from alembic import op
import sqlalchemy as sa

from kiosk.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('voice_messages') as batch_op:
        batch_op.add_column(sa.Column('erased_at', UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('voice_messages') as batch_op:
        batch_op.drop_column('erased_at')
