"""deputy work: contact activities, report-backs, 三议一评 topics tracked, evaluations

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-06 01:50:18

Contact activities (made at a station, pushed like a check-in, or recorded at
the hub), report-backs to voters, professional groups, topics' tracking
records, and evaluations with their rectification follow-ups. Topics, until
now tags grouping opinions, become tracked supervision items: every existing
topic keeps its row, title, description, township and opinions; an open one
is being tracked, a closed one counts as evaluated (its close date kept, no
votes invented), and its year is the local year it was made.

"""
from datetime import timedelta, timezone

from alembic import op
import sqlalchemy as sa

from kiosk.models.types import UTCDateTime

# Asia/Shanghai has had no daylight saving since 1991: a fixed offset is exact here.
LOCAL = timezone(timedelta(hours=8))


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('professional_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('township_id', 'name', name='uq_professional_groups_township_name')
    )
    with op.batch_alter_table('professional_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_professional_groups_township_id'), ['township_id'], unique=False)

    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('meeting', sa.String(length=80), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('basic', sa.Integer(), nullable=False),
    sa.Column('unsatisfied', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=12), nullable=False),
    sa.Column('rectification', sa.Text(), nullable=True),
    sa.Column('rectification_due', sa.Date(), nullable=True),
    sa.Column('rectified_on', sa.Date(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['townships.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluations_held_on'), ['held_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluations_township_id'), ['township_id'], unique=False)

    op.create_table('professional_group_members',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['professional_groups.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'deputy_id')
    )
    with op.batch_alter_table('professional_group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_professional_group_members_deputy_id'), ['deputy_id'], unique=False)

    op.create_table('report_backs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=80), nullable=False),
    sa.Column('voters_present', sa.Integer(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('basic', sa.Integer(), nullable=False),
    sa.Column('unsatisfied', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_backs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_backs_deputy_id'), ['deputy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_backs_held_on'), ['held_on'], unique=False)

    op.create_table('activities',
    sa.Column('station_code', sa.String(length=8), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('topics', sa.Text(), nullable=False),
    sa.Column('checkin_uuid', sa.String(length=36), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('hub_received_at', UTCDateTime(), nullable=True),
    sa.Column('acknowledged_at', UTCDateTime(), nullable=True),
    sa.Column('sync_digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['checkin_uuid'], ['duty_checkins.uuid'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_acknowledged_at'), ['acknowledged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_checkin_uuid'), ['checkin_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_held_on'), ['held_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_station_code'), ['station_code'], unique=False)

    op.create_table('evaluation_follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evaluation_follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_follow_ups_evaluation_id'), ['evaluation_id'], unique=False)

    op.create_table('topic_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('topic_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_records_topic_id'), ['topic_id'], unique=False)

    op.create_table('activity_deputies',
    sa.Column('activity_uuid', sa.String(length=36), nullable=False),
    sa.Column('deputy_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_uuid'], ['activities.uuid'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['deputy_id'], ['deputies.id'], ),
    sa.PrimaryKeyConstraint('activity_uuid', 'deputy_id')
    )
    with op.batch_alter_table('activity_deputies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_deputies_deputy_id'), ['deputy_id'], unique=False)

    op.create_table('activity_opinions',
    sa.Column('opinion_uuid', sa.String(length=36), nullable=False),
    sa.Column('activity_uuid', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['activity_uuid'], ['activities.uuid'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['opinion_uuid'], ['opinions.uuid'], ),
    sa.PrimaryKeyConstraint('opinion_uuid')
    )
    with op.batch_alter_table('activity_opinions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_opinions_activity_uuid'), ['activity_uuid'], unique=False)

    # Column by column, never a rebuild of ``topics`` (SQLite's batch mode copies, drops and renames
    # a table): opinions point at topics, and dropping it would break their foreign keys.
    op.add_column('topics', sa.Column('status', sa.String(length=12), server_default='tracking', nullable=False))
    for column in NEW_TOPIC_COLUMNS:
        op.add_column('topics', column())
    if op.get_bind().dialect.name == 'sqlite':
        if 'group_id' not in {c['name'] for c in sa.inspect(op.get_bind()).get_columns('topics')}:
            op.execute('ALTER TABLE topics ADD COLUMN group_id INTEGER REFERENCES professional_groups (id)')
    else:
        op.add_column('topics', sa.Column('group_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_topics_group_id', 'topics', 'professional_groups', ['group_id'], ['id'])
    op.create_index('ix_topics_group_id', 'topics', ['group_id'], unique=False)
    op.create_index('ix_topics_year', 'topics', ['year'], unique=False)

    _existing_topics_tracked()


NEW_TOPIC_COLUMNS = (
    lambda: sa.Column('year', sa.Integer(), nullable=True),
    lambda: sa.Column('commitment', sa.Text(), nullable=True),
    lambda: sa.Column('department', sa.String(length=60), nullable=True),
    lambda: sa.Column('votes_satisfied', sa.Integer(), nullable=True),
    lambda: sa.Column('votes_basic', sa.Integer(), nullable=True),
    lambda: sa.Column('votes_unsatisfied', sa.Integer(), nullable=True),
    lambda: sa.Column('outcome', sa.Text(), nullable=True),
    lambda: sa.Column('evaluated_on', sa.Date(), nullable=True),
)


def _existing_topics_tracked():
    """Every topic tag becomes a tracked item, nothing dropped: see the module's docstring."""
    topics = sa.table('topics', sa.column('id', sa.Integer), sa.column('created_at', sa.DateTime),
                      sa.column('closed_at', sa.DateTime), sa.column('status', sa.String), sa.column('year', sa.Integer))
    connection = op.get_bind()
    for topic_id, created_at, closed_at in connection.execute(sa.select(topics.c.id, topics.c.created_at, topics.c.closed_at)).all():
        year = created_at.replace(tzinfo=timezone.utc).astimezone(LOCAL).year
        status = 'evaluated' if closed_at is not None else 'tracking'
        connection.execute(sa.update(topics).where(topics.c.id == topic_id).values(year=year, status=status))


def downgrade():
    op.drop_index('ix_topics_year', table_name='topics')
    op.drop_index('ix_topics_group_id', table_name='topics')
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite cannot drop a column holding a foreign key, nor rebuild topics while opinions
        # point at it: group_id stays behind, empty, and an upgrade again finds it there.
        for column in ('status', *(column().name for column in NEW_TOPIC_COLUMNS)):
            op.execute(f'ALTER TABLE topics DROP COLUMN {column}')
    else:
        op.drop_constraint('fk_topics_group_id', 'topics', type_='foreignkey')
        for name in ('status', 'group_id', *(column().name for column in NEW_TOPIC_COLUMNS)):
            op.drop_column('topics', name)

    with op.batch_alter_table('activity_opinions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_opinions_activity_uuid'))

    op.drop_table('activity_opinions')
    with op.batch_alter_table('activity_deputies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_deputies_deputy_id'))

    op.drop_table('activity_deputies')
    with op.batch_alter_table('topic_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topic_records_topic_id'))

    op.drop_table('topic_records')
    with op.batch_alter_table('evaluation_follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_follow_ups_evaluation_id'))

    op.drop_table('evaluation_follow_ups')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_station_code'))
        batch_op.drop_index(batch_op.f('ix_activities_held_on'))
        batch_op.drop_index(batch_op.f('ix_activities_checkin_uuid'))
        batch_op.drop_index(batch_op.f('ix_activities_acknowledged_at'))

    op.drop_table('activities')
    with op.batch_alter_table('report_backs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_backs_held_on'))
        batch_op.drop_index(batch_op.f('ix_report_backs_deputy_id'))

    op.drop_table('report_backs')
    with op.batch_alter_table('professional_group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_professional_group_members_deputy_id'))

    op.drop_table('professional_group_members')
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluations_township_id'))
        batch_op.drop_index(batch_op.f('ix_evaluations_held_on'))

    op.drop_table('evaluations')
    with op.batch_alter_table('professional_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_professional_groups_township_id'))

    op.drop_table('professional_groups')
