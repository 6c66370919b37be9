"""How this project talks to SQLite: durable, and one writer at a time.

Every SQLite connection gets WAL (readers never block the writer),
``synchronous=FULL`` (a committed opinion survives a power cut), foreign keys
a busy timeout, and ``secure_delete`` (deleted and overwritten content is
zeroed, so an erased name or phone number lingers in no free page; see
``checkpoint`` for the WAL). Transactions start with ``BEGIN IMMEDIATE`` so that a
transaction that reads and then writes cannot fail halfway with
SQLITE_BUSY_SNAPSHOT; at a kiosk the cost is nil.
"""

import logging

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
    "secure_delete": 1,
}


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # Let SQLAlchemy's "begin" event below issue BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for name, value in SQLITE_PRAGMAS.items():
        cursor.execute(f"PRAGMA {name}={value}")
    cursor.close()


@event.listens_for(Engine, "begin")
def _on_begin(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")



def checkpoint(engine: Engine) -> None:
    """After an erasure: copy the WAL into the database file and truncate it (SQLite only).

    The WAL keeps earlier versions of every page written since the last
    checkpoint, erased contact details among them, until it is overwritten.
    On a connection of its own, outside any transaction; it waits (busy
    timeout) for readers of older snapshots.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        busy, _log_pages, _done = connection.connection.dbapi_connection.execute(
            "PRAGMA wal_checkpoint(TRUNCATE)"
        ).fetchone()
    if busy:
        log.warning("WAL checkpoint after an erasure could not finish: a reader held it; the next one will")
