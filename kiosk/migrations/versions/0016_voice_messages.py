"""voice messages: a recording kept with an opinion, and its transcript at the hub

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-06 02:00:00

A constituent may speak instead of writing (说话留言): the station keeps the
WebM/Opus recording until the hub has confirmed its SHA-256, the hub keeps it
with the transcript (转写) its staff type.

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('voice_messages',
    sa.Column('opinion_uuid', sa.String(length=36), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('transcript', sa.Text(), nullable=True),
    sa.Column('transcribed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('opinion_uuid')
    )
    with op.batch_alter_table('voice_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_messages_sha256'), ['sha256'], unique=False)


def downgrade():
    with op.batch_alter_table('voice_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voice_messages_sha256'))
    op.drop_table('voice_messages')
