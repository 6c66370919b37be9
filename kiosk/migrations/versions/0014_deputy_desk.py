"""deputy desk: deputies' accounts, direct answers, notes, 一键通 suggestions, the diary

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-06 01:50:00

A new role, deputy, whose account is tied to one deputy of the directory
and starts with a one-time activation code. A deputy's direct answer is a
public step of its own kind; a 一键通 suggestion is an opinion the deputy
made (with a title and an optional attachment); notes to the office and the
履职日记 are tables of their own.

"""
from alembic import op
import sqlalchemy as sa

from kiosk.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0016'
branch_labels = None
depends_on = None

OLD_ROLES = "role in ('city', 'chair', 'township')"
ROLES = "role in ('city', 'chair', 'township', 'deputy')"
DEPUTY = "(role = 'deputy') = (deputy_id is not null)"


def upgrade():
    op.create_table('diary_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=True),
    sa.Column('withdrawn_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name='fk_diary_entries_deputy_id_deputies'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.create_index('ix_diary_entries_deputy_day', ['deputy_id', 'day'], unique=False)

    op.create_table('desk_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opinion_uuid', sa.String(length=36), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], name='fk_desk_notes_deputy_id_deputies'),
    sa.ForeignKeyConstraint(['opinion_uuid'], ['opinions.uuid'], name='fk_desk_notes_opinion_uuid_opinions'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_desk_notes_user_id_users'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('desk_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desk_notes_opinion_uuid'), ['opinion_uuid'], unique=False)

    op.create_table('suggestion_attachments',
    sa.Column('opinion_uuid', sa.String(length=36), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['opinion_uuid'], ['opinions.uuid'], name='fk_suggestion_attachments_opinion_uuid_opinions'),
    sa.PrimaryKeyConstraint('opinion_uuid')
    )
    with op.batch_alter_table('opinion_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=True))

    if op.get_bind().dialect.name == 'sqlite':
        # Added in place: rebuilding opinions would drop its triggers (the
        # dashboard's rollup, migration 0009). SQLite takes a column's
        # foreign key in ADD COLUMN.
        op.execute(
            'ALTER TABLE opinions ADD COLUMN suggesting_deputy_id INTEGER '
            'CONSTRAINT fk_opinions_suggesting_deputy_id_deputies REFERENCES deputies (id)'
        )
    else:
        op.add_column('opinions', sa.Column('suggesting_deputy_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            'fk_opinions_suggesting_deputy_id_deputies', 'opinions', 'deputies', ['suggesting_deputy_id'], ['id']
        )
    op.add_column('opinions', sa.Column('title', sa.String(length=60), nullable=True))
    op.create_index('ix_opinions_deputy_created', 'opinions', ['deputy_id', 'created_at'], unique=False)
    op.create_index('ix_opinions_suggesting_deputy_id', 'opinions', ['suggesting_deputy_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deputy_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('activation_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('activation_expires_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('desk_seen_at', UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint('uq_users_deputy_id', ['deputy_id'])
        batch_op.create_foreign_key('fk_users_deputy_id_deputies', 'deputies', ['deputy_id'], ['id'])
        batch_op.drop_constraint('user_role', type_='check')
        batch_op.create_check_constraint('user_role', ROLES)
        batch_op.create_check_constraint('user_deputy', DEPUTY)


def downgrade():
    op.execute("DELETE FROM staff_sessions WHERE user_id IN (SELECT id FROM users WHERE role = 'deputy')")
    op.execute("DELETE FROM login_attempts WHERE username IN (SELECT username FROM users WHERE role = 'deputy')")
    op.execute("UPDATE audit_log SET user_id = NULL WHERE user_id IN (SELECT id FROM users WHERE role = 'deputy')")
    op.execute("DELETE FROM desk_notes")
    op.execute("DELETE FROM users WHERE role = 'deputy'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('user_deputy', type_='check')
        batch_op.drop_constraint('user_role', type_='check')
        batch_op.create_check_constraint('user_role', OLD_ROLES)
        batch_op.drop_constraint('fk_users_deputy_id_deputies', type_='foreignkey')
        batch_op.drop_constraint('uq_users_deputy_id', type_='unique')
        batch_op.drop_column('desk_seen_at')
        batch_op.drop_column('activation_expires_at')
        batch_op.drop_column('activation_hash')
        batch_op.drop_column('deputy_id')

    op.execute("DELETE FROM suggestion_attachments")
    op.execute("DELETE FROM opinion_events WHERE kind IS NOT NULL")
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_opinions_suggesting_deputy_id_deputies', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_opinions_suggesting_deputy_id'))
        batch_op.drop_index('ix_opinions_deputy_created')
        batch_op.drop_column('title')
        batch_op.drop_column('suggesting_deputy_id')

    with op.batch_alter_table('opinion_events', schema=None) as batch_op:
        batch_op.drop_column('kind')

    op.drop_table('suggestion_attachments')
    with op.batch_alter_table('desk_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_desk_notes_opinion_uuid'))
    op.drop_table('desk_notes')
    with op.batch_alter_table('diary_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_diary_entries_deputy_day')
    op.drop_table('diary_entries')
