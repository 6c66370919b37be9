"""dashboard indexes: open opinions by due date, the year's figures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:30:00

ix_opinions_open_due holds only open opinions, so "overdue now" reads a
small index instead of every opinion. ix_opinions_township_figures lets
PostgreSQL count a township's year (the city's: township by township) from
the index alone (INCLUDE); on SQLite, which has no INCLUDE, it holds a hub's
opinions only, so stations pay nothing for it.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Every status but closed, declined and merged, named one by one.
OPEN = sa.text("status IN ('submitted', 'received', 'accepted', 'forwarded', 'replied', 'reopened')")
FIGURES = [
    'station_code',
    'category_code',
    'status',
    'accepted_at',
    'closed_at',
    'hub_received_at',
    'satisfaction',
]


def upgrade():
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_opinions_open_due',
            ['township_id', 'close_due_on', 'accept_due_on', 'status'],
            unique=False,
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        )
        batch_op.create_index(
            'ix_opinions_township_figures',
            ['township_id', 'created_at'],
            unique=False,
            postgresql_include=FIGURES,
            sqlite_where=sa.text('township_id IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.drop_index('ix_opinions_township_figures')
        batch_op.drop_index('ix_opinions_open_due')
