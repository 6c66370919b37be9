"""deputy directory: public id, sex, level, private mobile, photos, term, retired

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 23:00:00

The old ``phone`` column was the number shown at stations: it becomes
``public_phone``, unchanged. Every deputy already held gets a random public
id (the address of their QR code), kept from then on.

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deputy_photos',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.alter_column('phone', new_column_name='public_phone', existing_type=sa.String(length=20))
        batch_op.add_column(sa.Column('public_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('sex', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('level', sa.String(length=8), nullable=False, server_default='镇'))
        batch_op.add_column(sa.Column('mobile', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('photo', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('term_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('term_end', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('retired', sa.Boolean(), nullable=False, server_default=sa.false()))
    deputies = sa.table('deputies', sa.column('id', sa.Integer), sa.column('public_id', sa.String))
    connection = op.get_bind()
    ids = [row[0] for row in connection.execute(sa.select(deputies.c.id))]
    if ids:
        connection.execute(
            deputies.update().where(deputies.c.id == sa.bindparam('deputy_id')).values(public_id=sa.bindparam('new_id')),
            [{'deputy_id': i, 'new_id': secrets.token_urlsafe(9)} for i in ids],
        )
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('level', server_default=None, existing_type=sa.String(length=8), existing_nullable=False)
        batch_op.alter_column('retired', server_default=None, existing_type=sa.Boolean(), existing_nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_deputies_public_id'), ['public_id'])
        batch_op.create_index(batch_op.f('ix_deputies_mobile'), ['mobile'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_deputies_photo_deputy_photos'), 'deputy_photos', ['photo'], ['sha256'])


def downgrade():
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_deputies_photo_deputy_photos'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_deputies_mobile'))
        batch_op.drop_constraint(batch_op.f('uq_deputies_public_id'), type_='unique')
        for column in ('retired', 'term_end', 'term_start', 'photo', 'mobile', 'level', 'sex', 'public_id'):
            batch_op.drop_column(column)
        batch_op.alter_column('public_phone', new_column_name='phone', existing_type=sa.String(length=20))

    op.drop_table('deputy_photos')
