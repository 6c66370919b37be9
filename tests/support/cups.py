"""A private CUPS server with a PDF printer, for the tests, the benchmarks and the demo.

``cupsd`` runs in the foreground with its own configuration, spool, log,
cache and state folders under one directory, listening on a free localhost
port. Its one printer is a cups-pdf queue that writes each job as a PDF into
``<dir>/pdf``, so a test can look at what was really printed.

The machine's own CUPS is never touched. cups-pdf reads its settings from
``/etc/cups`` only (the path is compiled in); for a device URI
``cups-pdf:/NAME`` it reads ``/etc/cups/cups-pdf-NAME.conf``, so this server
adds a file of its own with a unique NAME there, and removes it on stop.
cups-pdf's backend runs only as root, so this needs root (as the tests do in
CI); ``usable()`` says why not when it cannot run.

Command line (the demo uses it)::

    python -m tests.support.cups start DIR   # prints KIOSK_CUPS_SERVER=… KIOSK_PRINTER=…
    python -m tests.support.cups stop DIR

The tests get one through the ``cups_server`` and ``own_cups_server``
fixtures (tests/conftest.py). Those live under /tmp, not pytest's tmp
folder: CUPS filters run as the lp user, and pytest's folders are private
to root.
"""

import ctypes
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cups

CUPSD = "/usr/sbin/cupsd"
LPADMIN = "/usr/sbin/lpadmin"
CUPS_PDF_BACKEND = Path("/usr/lib/cups/backend/cups-pdf")
CUPS_PDF_PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
CUPS_PDF_CONF_DIR = Path("/etc/cups")
PRINTER = "receipt"


def usable() -> str | None:
    """None when a private CUPS can run here, else the reason it cannot."""
    for path in (CUPSD, LPADMIN, CUPS_PDF_BACKEND, CUPS_PDF_PPD):
        if not Path(path).exists():
            return f"{path} is missing (Debian packages cups and printer-driver-cups-pdf)"
    if os.geteuid() != 0:
        return "the cups-pdf backend runs only under a cupsd started as root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalCups:
    root: Path
    printer: str = PRINTER
    port: int = 0
    process: subprocess.Popen | None = field(default=None, repr=False)

    def __post_init__(self):
        self.root = Path(self.root).resolve()
        if not self.port:
            saved = self.root / "port"
            self.port = int(saved.read_text()) if saved.exists() else _free_port()

    # --- where things are -------------------------------------------------

    @property
    def server(self) -> str:
        """The value for ``CUPS_SERVER`` (and the app's ``CUPS_SERVER``)."""
        return f"127.0.0.1:{self.port}"

    @property
    def output_dir(self) -> Path:
        """Where cups-pdf writes each printed job."""
        return self.root / "pdf"

    @property
    def error_log(self) -> Path:
        return self.root / "log" / "error_log"

    @property
    def _name(self) -> str:
        # Unique per folder, so several private servers can run side by side.
        return "kiosk-" + hashlib.sha256(str(self.root).encode()).hexdigest()[:10]

    @property
    def _cups_pdf_conf(self) -> Path:
        return CUPS_PDF_CONF_DIR / f"cups-pdf-{self._name}.conf"

    @property
    def _pid_file(self) -> Path:
        return self.root / "run" / "cupsd.pid"

    def env(self) -> dict[str, str]:
        return {"CUPS_SERVER": self.server}

    def connect(self):
        """A pycups connection, with this server as the thread's libcups default.

        libcups looks queues up on the default server when printing a file,
        whatever server the connection goes to.
        """
        cups.setServer("127.0.0.1")
        cups.setPort(self.port)
        return cups.Connection()

    # --- life cycle ---------------------------------------------------------

    def start(self, timeout: float = 30, detach: bool = False) -> "LocalCups":
        """Write the configuration, start cupsd, add the printer; idempotent."""
        reason = usable()
        if reason:
            raise RuntimeError(f"cannot start a private CUPS: {reason}")
        if self.running():
            return self
        self._write_config()
        log = open(self.root / "log" / "cupsd.out", "ab")
        self.process = subprocess.Popen(
            [CUPSD, "-f", "-c", str(self.root / "conf" / "cupsd.conf"), "-s", str(self.root / "conf" / "cups-files.conf")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Detached for the demo, so it outlives the command that started it;
            # otherwise it dies with its parent, so a killed test run leaves no cupsd.
            start_new_session=detach,
            preexec_fn=None if detach else _die_with_parent,
        )
        (self.root / "port").write_text(str(self.port))
        self._pid_file.write_text(str(self.process.pid))
        self._wait_listening(timeout)
        self._add_printer()
        return self

    def stop(self, timeout: float = 15) -> None:
        """Stop cupsd (ours, by its pid) and remove cups-pdf's file in /etc/cups."""
        pid = self._pid()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        elif pid:
            try:
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and _alive(pid):
                    time.sleep(0.1)
            except ProcessLookupError:
                pass
        self.process = None
        self._pid_file.unlink(missing_ok=True)
        self._cups_pdf_conf.unlink(missing_ok=True)

    def running(self) -> bool:
        pid = self._pid()
        return bool(pid and _alive(pid) and self._listening())

    def _pid(self) -> int | None:
        if self.process is not None and self.process.poll() is None:
            return self.process.pid
        try:
            return int(self._pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"cupsd exited with {self.process.returncode}: {self._log_tail()}")
            if self._listening():
                return
            time.sleep(0.1)
        raise RuntimeError(f"cupsd did not start listening on {self.server}: {self._log_tail()}")

    def _log_tail(self) -> str:
        texts = []
        for path in (self.root / "log" / "cupsd.out", self.error_log):
            if path.exists():
                texts.append(path.read_text(errors="replace")[-1500:])
        return "\n".join(texts)

    def _add_printer(self) -> None:
        self.add_printer(self.printer, f"cups-pdf:/{self._name}", "回执打印机 (PDF)")

    def add_printer(self, name: str, device_uri: str, description: str = "", raw: bool = False) -> None:
        """Add (or change) an enabled queue through lpadmin: with cups-pdf's PPD, or ``raw``.

        A raw queue (no PPD, no filter) passes each job's bytes to the device
        as they are: the queue a thermal printer is set up with.
        """
        driver = [] if raw else ["-P", str(CUPS_PDF_PPD)]
        command = [
            LPADMIN, "-h", self.server, "-p", name, "-E",
            "-v", device_uri, *driver, "-D", description or name,
        ]  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **self.env()})
            if result.returncode == 0:
                return
            # cupsd may listen a moment before it answers IPP requests.
            if time.monotonic() > deadline:
                raise RuntimeError(f"lpadmin failed: {result.stderr.strip()} {self._log_tail()}")
            time.sleep(0.2)

    # --- configuration -----------------------------------------------------

    def _write_config(self) -> None:
        for sub in ("conf", "conf/ppd", "conf/ssl", "spool", "spool/tmp", "log", "run", "cache", "pdf", "cups-pdf"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # Filters run as the lp user: they must reach the spool and output
        # folders (pytest's own tmp folders are private to root).
        for path in [self.root, *self.root.iterdir()]:
            if path.is_dir():
                path.chmod(0o755)
        (self.root / "spool" / "tmp").chmod(0o1777)
        (self.root / "pdf").chmod(0o1777)
        r = self.root
        (r / "conf" / "cups-files.conf").write_text(
            f"""# Private CUPS for the kiosk's tests and demo ({__name__}).
ServerRoot {r}/conf
RequestRoot {r}/spool
TempDir {r}/spool/tmp
CacheDir {r}/cache
StateDir {r}/run
AccessLog {r}/log/access_log
ErrorLog {r}/log/error_log
PageLog {r}/log/page_log
ServerKeychain {r}/conf/ssl
Printcap {r}/run/printcap
User lp
Group lp
SystemGroup root
Sandboxing Relaxed
"""
        )
        (r / "conf" / "cupsd.conf").write_text(
            f"""# Private CUPS for the kiosk's tests and demo ({__name__}).
Listen 127.0.0.1:{self.port}
ServerName 127.0.0.1
LogLevel info
MaxLogSize 0
Browsing No
BrowseLocalProtocols none
WebInterface No
DefaultEncryption Never
DefaultAuthType None
PreserveJobHistory Yes
JobRetryInterval 5
<Location />
  Order allow,deny
  Allow from 127.0.0.1
</Location>
<Policy default>
  <Limit All>
    Order allow,deny
    Allow from 127.0.0.1
  </Limit>
</Policy>
"""
        )
        self._cups_pdf_conf.write_text(
            f"""# cups-pdf settings for the private CUPS in {r} ({__name__}); removed on stop.
Out {r}/pdf
AnonDirName {r}/pdf
Spool {r}/cups-pdf
Log {r}/log
GSTmp {r}/cups-pdf
UserUMask 0022
AnonUMask 0022
Label 1
Grp lp
LogType 3
"""
        )


def _die_with_parent() -> None:
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def private_cups() -> LocalCups:
    """A private CUPS started in a new folder under /tmp; the test is skipped where none can run."""
    import pytest

    reason = usable()
    if reason:
        pytest.skip(f"no private CUPS here: {reason}")
    return LocalCups(Path(tempfile.mkdtemp(prefix="kiosk-cups-"))).start()


def remove(server: LocalCups) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


def printed_files(server: LocalCups) -> set[Path]:
    return set(server.output_dir.glob("*.pdf"))


def wait_for_new_file(server: LocalCups, before: set[Path], timeout: float = 60) -> Path:
    """The PDF cups-pdf wrote after ``before`` was taken, once it is complete."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = printed_files(server) - before
        for path in new:
            if path.stat().st_size > 0 and path.read_bytes().rstrip().endswith(b"%%EOF"):
                return path
        time.sleep(0.2)
    raise AssertionError(f"nothing printed into {server.output_dir} within {timeout} s")


@contextmanager
def disabled_queue(server: LocalCups):
    """The receipt queue stopped with ``cupsdisable``, as a jam or an operator would."""
    env = {**os.environ, **server.env()}
    subprocess.run(["cupsdisable", server.printer], check=True, env=env)
    try:
        yield
    finally:
        subprocess.run(["cupsenable", server.printer], check=True, env=env)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__.split("Command line")[1], file=sys.stderr)
        return 2
    cups = LocalCups(Path(argv[1]))
    if argv[0] == "start":
        reason = usable()
        if reason:
            print(f"no private CUPS: {reason}", file=sys.stderr)
            return 1
        Path(argv[1]).mkdir(parents=True, exist_ok=True)
        cups.start(detach=True)
        print(f"KIOSK_CUPS_SERVER={cups.server}")
        print(f"KIOSK_PRINTER={cups.printer}")
    else:
        cups.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
