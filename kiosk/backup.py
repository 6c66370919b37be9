"""Backups of a box's SQLite database: made while the kiosk runs, kept for a while, put back.

``backup create DIR`` copies the live database with SQLite's online backup
API: one read transaction, so the copy holds exactly what was committed when
it began, while submits go on. Copies older than ``BACKUP_DAYS`` in DIR are
removed on the way. A copy is owner-only (0600) in an owner-only folder
(0700): it holds names, phones and every receipt's 验证码.

``backup restore FILE`` checks the copy's integrity first, refuses to
overwrite a database already in use unless told ``--force``, and marks a
station restored (``BoxIdentity.restored_at``): receipts it issued after the
copy was made are known to the hub alone, so the kiosk takes no submit until
a sync has re-sent what the hub lacks and raised the receipt counters past
the hub's numbers (``kiosk.sync.station``). Run nightly by the box's timer.
"""

import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import update

from . import instance, upgrade_database
from .clock import format_local, now
from .extensions import db
from .models import BoxIdentity

log = logging.getLogger(__name__)

# kiosk-20261206-013000.sqlite3: the UTC time the copy began, which sorts.
NAME = re.compile(r"kiosk-(\d{8}-\d{6})\.sqlite3", re.ASCII)
STAMP = "%Y%m%d-%H%M%S"
# Tables whose rows say a database is in use (a set-up box), not merely migrated.
IN_USE = ("box_identity", "stations", "opinions")


class BackupRefused(Exception):
    """Nothing was done; the message says why (Chinese)."""


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: datetime
    size: int


def database_path() -> Path:
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database:
        raise BackupRefused("本机的数据库不是 SQLite 文件：镇人大办的 PostgreSQL 请用 pg_dump 备份。")
    return Path(url.database)


def create_backup(folder: Path, database: Path, days: int) -> tuple[Backup, list[Path]]:
    """Copy ``database`` into ``folder`` now, then remove copies there older than ``days``."""
    instance.make_private(folder)
    taken_at = now().replace(microsecond=0)
    path = folder / f"kiosk-{taken_at.strftime(STAMP)}.sqlite3"
    tmp = folder / f".{path.name}.tmp"
    tmp.unlink(missing_ok=True)
    instance.create_private_file(tmp)
    source, copy = _connect(database), sqlite3.connect(tmp)
    try:
        source.backup(copy)
        # One self-contained file: no -wal beside it to lose on the way to a USB stick.
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        source.close()
    _fsync(tmp)
    os.replace(tmp, path)
    _fsync(folder)
    log.info("database backed up to %s", path)
    return Backup(path, taken_at, path.stat().st_size), prune(folder, taken_at - timedelta(days=days))


def prune(folder: Path, before: datetime) -> list[Path]:
    """Remove the backups in ``folder`` taken before ``before``; only files named as backups are touched."""
    removed = []
    for backup in list_backups(folder):
        if backup.taken_at < before:
            backup.path.unlink()
            removed.append(backup.path)
    return removed


def list_backups(folder: Path) -> list[Backup]:
    """The backups in ``folder``, oldest first."""
    if not folder.is_dir():
        raise BackupRefused(f"没有这个文件夹：{folder}")
    found = []
    for path in folder.iterdir():
        if match := NAME.fullmatch(path.name):
            taken_at = datetime.strptime(match[1], STAMP).replace(tzinfo=timezone.utc)
            found.append(Backup(path, taken_at, path.stat().st_size))
    return sorted(found, key=lambda b: b.taken_at)


def check_backup(path: Path) -> None:
    """A whole, undamaged database of this product, or ``BackupRefused``."""
    if not path.is_file():
        raise BackupRefused(f"没有这个备份文件：{path}")
    try:
        # Read-only and immutable: checking a copy must not change it or leave files beside it.
        with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as copy:
            verdict = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise BackupRefused(f"{path} 不是可用的数据库文件（{error}），没有恢复。")
    if verdict != ["ok"]:
        raise BackupRefused(f"{path} 已损坏，没有恢复：{'; '.join(verdict[:5])}")
    if not {"alembic_version", *IN_USE} <= tables:
        raise BackupRefused(f"{path} 不是本系统的数据库备份，没有恢复。")


def in_use(database: Path) -> bool:
    """Whether ``database`` holds a set-up box (a station's identity, stations or opinions)."""
    if not database.exists():
        return False
    with _connect(database) as live:
        tables = {row[0] for row in live.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return any(live.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0] for t in IN_USE if t in tables)


def restore_backup(path: Path, database: Path, force: bool) -> None:
    """Put the backup ``path`` in place of ``database``'s content, after checking both.

    Copied into the database file with the backup API, page by page under
    SQLite's locks, rather than by replacing the file: a -wal or -shm of the
    old content must not survive beside the new one.
    """
    check_backup(path)
    if not force and in_use(database):
        raise BackupRefused(f"{database} 里已有数据，没有恢复；确定要用备份覆盖它，请加 --force。")
    db.session.remove()
    db.engine.dispose()
    with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as source, _connect(database) as live:
        source.backup(live)
        live.execute("PRAGMA journal_mode=WAL")
    log.warning("database %s restored from %s", database, path)


def mark_restored() -> bool:
    """Mark this station restored, so it catches up with its hub before it takes a submit."""
    marked = db.session.execute(update(BoxIdentity).where(BoxIdentity.id == 1).values(restored_at=now())).rowcount
    db.session.commit()
    return bool(marked)


def _connect(database: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(database, timeout=30)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- commands ---------------------------------------------------------------


@click.group()
def backup():
    """Backups of this box's SQLite database."""


@backup.command("create")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def create(folder: Path):
    """Back the database up into FOLDER; remove backups there older than BACKUP_DAYS (run nightly)."""
    try:
        made, removed = create_backup(folder, database_path(), current_app.config["BACKUP_DAYS"])
    except BackupRefused as error:
        raise click.ClickException(str(error))
    click.echo(f"已备份到 {made.path}（{made.size} 字节）")
    for path in removed:
        click.echo(f"已删除过期的备份 {path}")


@backup.command("list")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def list_command(folder: Path):
    """The backups in FOLDER, oldest first: file, when taken (local time), size."""
    try:
        found = list_backups(folder)
    except BackupRefused as error:
        raise click.ClickException(str(error))
    for b in found:
        click.echo(f"{b.path.name}  {format_local(b.taken_at, '%Y-%m-%d %H:%M:%S')}  {b.size} 字节")
    click.echo(f"{len(found)} 个备份")


@backup.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="overwrite a database that is already in use")
@with_appcontext
def restore(file: Path, force: bool):
    """Check FILE and put it in place of the database (stop the kiosk first)."""
    try:
        restore_backup(file, database_path(), force)
    except BackupRefused as error:
        raise click.ClickException(str(error))
    # A backup from older software: its schema is brought up to this one's.
    upgrade_database()
    click.echo(f"已从 {file} 恢复。")
    if current_app.config["ROLE"] == "station" and mark_restored():
        click.echo("本站与镇人大办同步之前不接受新的提交（屏幕显示：正在恢复数据，请稍候）。")
