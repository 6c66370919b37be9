"""privacy over time: the audit log as a hash chain

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 23:00:00

Each audit row gets the previous row's hash and its own (kiosk.audit): the
rows already there are chained here, in id order, as the application chains
new ones. One successor per row (unique prev_hash); an index for the audit
page's filter by action.

"""
from alembic import op
import sqlalchemy as sa

from kiosk import audit
from kiosk.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The audit log as it stands at this revision, read with the types the hash is taken over.
audit_log = sa.table(
    'audit_log',
    sa.column('id', sa.Integer()),
    sa.column('at', UTCDateTime()),
    sa.column('user_id', sa.Integer()),
    sa.column('username', sa.String()),
    sa.column('action', sa.String()),
    sa.column('opinion_uuid', sa.String()),
    sa.column('subject', sa.String()),
    sa.column('before', sa.JSON()),
    sa.column('after', sa.JSON()),
    sa.column('note', sa.Text()),
    sa.column('address', sa.String()),
    sa.column('prev_hash', sa.String()),
    sa.column('row_hash', sa.String()),
)


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))

    connection = op.get_bind()
    audit.lock_chain(connection)
    rows = connection.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
    previous = audit.GENESIS
    for row in rows:
        current = audit.row_hash(row._mapping, previous)
        connection.execute(
            audit_log.update().where(audit_log.c.id == row.id).values(prev_hash=previous, row_hash=current)
        )
        previous = current

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('row_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint('uq_audit_log_prev_hash', ['prev_hash'])
        batch_op.create_index('ix_audit_log_action_at', ['action', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_action_at')
        batch_op.drop_constraint('uq_audit_log_prev_hash', type_='unique')
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
