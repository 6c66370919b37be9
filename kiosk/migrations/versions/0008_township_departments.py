"""township departments: a department belongs to a township or to the city

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 23:20:00

A township forwards street lights and village drains to its own offices and
村委会s, managed by its staff and offered only there. Existing departments
stay the city's (township_id NULL). A name is unique within its township;
the city's names keep their own unique index, since NULLs never clash in a
unique constraint.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

CITY = sa.text('township_id IS NULL')
# SQLite keeps the old unique constraint on name unnamed: a name for it, to drop it.
NAMING = {'uq': 'uq_%(table_name)s_%(column_0_name)s'}


def _old_unique_name() -> str:
    return 'uq_departments_name' if op.get_bind().dialect.name == 'sqlite' else 'departments_name_key'


def upgrade():
    with op.batch_alter_table('departments', schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(_old_unique_name(), type_='unique')
        batch_op.add_column(sa.Column('township_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_departments_township_id_townships', 'townships', ['township_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_departments_township_id'), ['township_id'], unique=False)
        batch_op.create_unique_constraint('uq_departments_township_name', ['township_id', 'name'])
        batch_op.create_index(
            'uq_departments_city_name', ['name'], unique=True, postgresql_where=CITY, sqlite_where=CITY
        )


def downgrade():
    # Every department becomes the city's again: two townships' offices of one name must be renamed first.
    with op.batch_alter_table('departments', schema=None, naming_convention=NAMING) as batch_op:
        batch_op.drop_index('uq_departments_city_name')
        batch_op.drop_constraint('uq_departments_township_name', type_='unique')
        batch_op.drop_index(batch_op.f('ix_departments_township_id'))
        batch_op.drop_constraint('fk_departments_township_id_townships', type_='foreignkey')
        batch_op.drop_column('township_id')
        batch_op.create_unique_constraint(_old_unique_name(), ['name'])
