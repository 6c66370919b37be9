"""How this project talks to SQLite: durable, and one writer at a time.

Every SQLite connection gets WAL (readers never block the writer),
``synchronous=FULL`` (a committed opinion survives a power cut), foreign keys
and a busy timeout. Transactions start with ``BEGIN IMMEDIATE`` so that a
transaction that reads and then writes cannot fail halfway with
SQLITE_BUSY_SNAPSHOT; at a kiosk the cost is nil.
"""

from sqlalchemy import Engine, event

BUSY_TIMEOUT_MS = 10_000

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
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

