"""The instance folder: the station's database, its key, hub.json, the secret key.

They hold names, phones and every receipt's 验证码, so the folder is the
owner's alone (0700) and so is each of its files (0600): made so, and made
so again at every start in case a copy or a restore widened them.
"""

import logging
import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
DATABASE_FILE = "kiosk.sqlite3"

log = logging.getLogger(__name__)


def make_private(folder: Path) -> None:
    """Create ``folder`` if need be, and take from everyone but its owner what they may do in it."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    _restrict(folder, FOLDER_MODE)
    for path in folder.rglob("*"):
        if path.is_symlink():
            continue
        _restrict(path, FOLDER_MODE if path.is_dir() else FILE_MODE)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only if it does not exist yet.

    SQLite creates its database with the umask's mode, and its -wal and -shm
    files with the database's: made here first, all three are owner-only.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` durably, the new file owner-only from its first byte."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _restrict(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode & 0o077 == 0:
        return
    try:
        path.chmod(current & mode)
    except PermissionError:
        # Not this process's to change (a folder an administrator made): say so, carry on.
        log.warning("%s is mode %o, open to others: make it %o", path, current, mode)
        return
    log.warning("%s was mode %o, open to others: now %o", path, current, current & mode)
