"""phone opinions: the township's online station, an opinion's channel and addressed station

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-06 02:10:00

People scan a deputy's or a station's QR code and leave an opinion from
their phone (kiosk.phone). Such an opinion is numbered under the township's
online station (level ``online``, one per township, no box), addressed to
the deputy or to the station whose code was scanned, and says it came by
phone; an opinion a deputy typed at the kiosk says so too (``assisted``).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0014'
branch_labels = None
depends_on = None

OLD_CHECK = "level in ('center', 'station', 'point')"
NEW_CHECK = "level in ('center', 'station', 'point', 'online')"


def _set_level_check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        # A wider CHECK changes nothing stored: SQLite's documented way is to
        # edit the schema text in place. Rebuilding the table instead would
        # delete it first, and that cascades to station_deputies.
        version = bind.exec_driver_sql('PRAGMA schema_version').scalar()
        bind.exec_driver_sql('PRAGMA writable_schema = ON')
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'stations'",
            (old, new),
        )
        bind.exec_driver_sql(f'PRAGMA schema_version = {version + 1}')
        bind.exec_driver_sql('PRAGMA writable_schema = OFF')
    else:
        op.drop_constraint('station_level', 'stations', type_='check')
        op.create_check_constraint('station_level', 'stations', new)


def upgrade():
    _set_level_check(OLD_CHECK, NEW_CHECK)
    op.create_index(
        'ix_stations_online_township', 'stations', ['township_id'], unique=True,
        sqlite_where=sa.text("level = 'online'"), postgresql_where=sa.text("level = 'online'"),
    )
    with op.batch_alter_table('opinions') as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), server_default='kiosk', nullable=False))
        batch_op.add_column(sa.Column('addressed_station_code', sa.String(length=8), nullable=True))
    op.execute(
        "UPDATE opinions SET channel = 'assisted' "
        "WHERE uuid IN (SELECT opinion_uuid FROM assisted_entries)"
    )


def downgrade():
    op.execute("DELETE FROM stations WHERE level = 'online' AND code NOT IN (SELECT station_code FROM opinions)")
    with op.batch_alter_table('opinions') as batch_op:
        batch_op.drop_column('addressed_station_code')
        batch_op.drop_column('channel')
    op.drop_index('ix_stations_online_township', table_name='stations')
    _set_level_check(NEW_CHECK, OLD_CHECK)
