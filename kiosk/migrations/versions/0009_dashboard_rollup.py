"""dashboard rollup: figures per township, station, category and local month

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 23:10:00

opinion_figures holds the counts the dashboard used to group a year of
opinions for; opinion_figures_stale lists the (township, UTC day) whose
opinions changed since. Triggers on opinions fill the stale list on every
insert, delete and change of a counted field, whatever wrote it (the sync
intake's raw SQL, a bulk loader, a staff action); the app recomputes the
cells of those days (kiosk.stats.rollup). On PostgreSQL the triggers are
per statement and ENABLE ALWAYS, so a loader running with
session_replication_role = replica is counted too. Every day that already
has opinions is listed stale here, so the first commit fills the cells.

On PostgreSQL ix_opinions_open_due also carries uuid (INCLUDE): "overdue
now" for the whole city then reads that index alone, the department's
lateness (an EXISTS by opinion uuid) included, instead of 40,000 heap
pages of open opinions.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

COUNTED = [
    'township_id',
    'station_code',
    'category_code',
    'created_at',
    'status',
    'accepted_at',
    'closed_at',
    'hub_received_at',
    'satisfaction',
]

SQLITE_CHANGED = " OR ".join(f"OLD.{name} IS NOT NEW.{name}" for name in COUNTED)
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER opinion_figures_inserted AFTER INSERT ON opinions
    WHEN NEW.township_id IS NOT NULL
    BEGIN
      INSERT INTO opinion_figures_stale (township_id, day) VALUES (NEW.township_id, date(NEW.created_at));
    END
    """,
    f"""
    CREATE TRIGGER opinion_figures_updated AFTER UPDATE ON opinions
    WHEN {SQLITE_CHANGED}
    BEGIN
      INSERT INTO opinion_figures_stale (township_id, day)
      SELECT OLD.township_id, date(OLD.created_at) WHERE OLD.township_id IS NOT NULL;
      INSERT INTO opinion_figures_stale (township_id, day)
      SELECT NEW.township_id, date(NEW.created_at) WHERE NEW.township_id IS NOT NULL;
    END
    """,
    """
    CREATE TRIGGER opinion_figures_deleted AFTER DELETE ON opinions
    WHEN OLD.township_id IS NOT NULL
    BEGIN
      INSERT INTO opinion_figures_stale (township_id, day) VALUES (OLD.township_id, date(OLD.created_at));
    END
    """,
]

PG_CHANGED = " OR ".join(f"o.{name} IS DISTINCT FROM n.{name}" for name in COUNTED)
PG_FUNCTIONS = {
    'inserted': """
      INSERT INTO opinion_figures_stale (township_id, day)
      SELECT DISTINCT township_id, created_at::date FROM new_rows WHERE township_id IS NOT NULL;
    """,
    'updated': f"""
      INSERT INTO opinion_figures_stale (township_id, day)
      SELECT DISTINCT k.township_id, k.day
      FROM old_rows o JOIN new_rows n ON n.uuid = o.uuid,
           LATERAL (VALUES (o.township_id, o.created_at::date), (n.township_id, n.created_at::date)) AS k(township_id, day)
      WHERE ({PG_CHANGED}) AND k.township_id IS NOT NULL;
    """,
    'deleted': """
      INSERT INTO opinion_figures_stale (township_id, day)
      SELECT DISTINCT township_id, created_at::date FROM old_rows WHERE township_id IS NOT NULL;
    """,
}
PG_REFERENCING = {
    'inserted': ('INSERT', 'NEW TABLE AS new_rows'),
    'updated': ('UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows'),
    'deleted': ('DELETE', 'OLD TABLE AS old_rows'),
}


OPEN = sa.text("status IN ('submitted', 'received', 'accepted', 'forwarded', 'replied', 'reopened')")
OPEN_DUE = ['township_id', 'close_due_on', 'accept_due_on', 'status']


def _open_due_index(include: list[str]) -> None:
    op.drop_index('ix_opinions_open_due', table_name='opinions', postgresql_where=OPEN)
    op.create_index('ix_opinions_open_due', 'opinions', OPEN_DUE, unique=False,
                    postgresql_where=OPEN, postgresql_include=include)


def upgrade():
    op.create_table('opinion_figures',
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('station_code', sa.String(length=8), nullable=False),
    sa.Column('category_code', sa.String(length=24), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('declined', sa.Integer(), nullable=False),
    sa.Column('merged', sa.Integer(), nullable=False),
    sa.Column('timed', sa.Integer(), nullable=False),
    sa.Column('days', sa.Float(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('basic', sa.Integer(), nullable=False),
    sa.Column('unsatisfied', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('township_id', 'month', 'station_code', 'category_code')
    )
    op.create_table('opinion_figures_stale',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    if op.get_bind().dialect.name == 'postgresql':
        for name, body in PG_FUNCTIONS.items():
            event, referencing = PG_REFERENCING[name]
            op.execute(
                f"CREATE FUNCTION opinion_figures_{name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n{body}\n  RETURN NULL;\nEND\n$$"
            )
            op.execute(
                f"CREATE TRIGGER opinion_figures_{name} AFTER {event} ON opinions "
                f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION opinion_figures_{name}()"
            )
            op.execute(f"ALTER TABLE opinions ENABLE ALWAYS TRIGGER opinion_figures_{name}")
        _open_due_index(['uuid'])
        day = 'created_at::date'
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
        day = 'date(created_at)'
    op.execute(
        "INSERT INTO opinion_figures_stale (township_id, day) "
        f"SELECT DISTINCT township_id, {day} FROM opinions WHERE township_id IS NOT NULL"
    )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _open_due_index([])
    for name in PG_FUNCTIONS:
        op.execute(f"DROP TRIGGER IF EXISTS opinion_figures_{name} ON opinions"
                   if op.get_bind().dialect.name == 'postgresql'
                   else f"DROP TRIGGER IF EXISTS opinion_figures_{name}")
        if op.get_bind().dialect.name == 'postgresql':
            op.execute(f"DROP FUNCTION IF EXISTS opinion_figures_{name}()")
    op.drop_table('opinion_figures_stale')
    op.drop_table('opinion_figures')
