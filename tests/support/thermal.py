"""A network ESC/POS receipt printer of the tests' own, on a free port of 127.0.0.1.

It stands where a real 80 mm thermal printer stands on port 9100: CUPS's
socket backend connects and writes a job, the app connects and asks its
status (``DLE EOT n``). Each connection's bytes are read as ESC/POS
commands; ``GS v 0`` raster blocks are stacked back into an image, so a
test can read the receipt's QR code off what the printer would have
printed. Bytes it does not know are kept in ``unknown``: a test asserts
there are none.

Paper and cover are switches a test flips. With the paper out or the cover
open, the printer answers status queries and reads no more of a job (as a
real one stops taking data), until the paper is loaded and the cover shut.
``roll_ends_after(lines)`` makes the roll run out in the middle of a job.

    printer = ThermalPrinter().start()
    ...   # a CUPS raw queue on printer.uri
    printout = printer.wait_for_printout()
    printer.stop()
"""

import socket
import threading
import time
from dataclasses import dataclass, field

from PIL import Image, ImageOps

DLE, EOT, ESC, GS, LF = 0x10, 0x04, 0x1B, 0x1D, 0x0A
# Status bytes as Epson documents them: bits 1 and 4 are always set.
FIXED = 0x12
OFFLINE = 0x08  # DLE EOT 1: the printer is offline
COVER_OPEN = 0x04  # DLE EOT 2: why it is offline
STOPPED_PAPER_END = 0x20  # DLE EOT 2
PAPER_END = 0x60  # DLE EOT 4: the roll sensor


@dataclass
class Printout:
    """One job as it came out: the raster stacked into one image, and whether it was cut."""

    blocks: list[Image.Image] = field(default_factory=list)
    cut: bool = False
    feeds: int = 0
    initialised: bool = False
    # time.perf_counter() when its last byte arrived.
    last_byte_at: float = 0.0

    @property
    def image(self) -> Image.Image:
        """Black on white, as on paper ("L" mode, 0 is printed)."""
        width = max(block.width for block in self.blocks)
        height = sum(block.height for block in self.blocks)
        paper = Image.new("L", (width, height), 255)
        y = 0
        for block in self.blocks:
            paper.paste(block, (0, y))
            y += block.height
        return paper

    @property
    def width(self) -> int:
        return max(block.width for block in self.blocks)


class ThermalPrinter:
    def __init__(self, dots: int = 576):
        self.dots = dots
        self.port = 0
        self.printouts: list[Printout] = []
        self.unknown: list[bytes] = []
        self.status_queries: list[int] = []
        self.paper = True
        self.cover_open = False
        self._lines_left: int | None = None
        self._changed = threading.Condition()
        self._listener: socket.socket | None = None
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()

    # --- where it is ---------------------------------------------------------

    @property
    def address(self) -> str:
        """``host:port``, the app's ``PRINTER_DEVICE``."""
        return f"127.0.0.1:{self.port}"

    @property
    def uri(self) -> str:
        """The CUPS device URI of a raw queue to it."""
        return f"socket://{self.address}"

    # --- life cycle ---------------------------------------------------------------

    def start(self) -> "ThermalPrinter":
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept)
        return self

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._listener is not None:
            # Closing alone does not wake a thread blocked in accept(); shutting it down does.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        for connection in list(self._connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(5)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="thermal-printer")
        self._threads.append(thread)
        thread.start()

    # --- the switches a test flips -----------------------------------------------

    def run_out_of_paper(self) -> None:
        with self._changed:
            self.paper = False
            self._changed.notify_all()

    def load_paper(self) -> None:
        with self._changed:
            self.paper, self._lines_left = True, None
            self._changed.notify_all()

    def open_cover(self) -> None:
        with self._changed:
            self.cover_open = True
            self._changed.notify_all()

    def close_cover(self) -> None:
        with self._changed:
            self.cover_open = False
            self._changed.notify_all()

    def roll_ends_after(self, lines: int) -> None:
        """The paper runs out once this many more dot lines are printed."""
        with self._changed:
            self._lines_left = lines

    # --- what a test waits for -------------------------------------------------

    def wait_for_printout(self, count: int = 1, timeout: float = 60) -> Printout:
        """The ``count``-th printout since start, once its job has ended."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.printouts) >= count, timeout):
                raise AssertionError(f"{len(self.printouts)} printouts after {timeout} s, not {count}")
            return self.printouts[count - 1]

    def wait_for_status_query(self, count: int = 1, timeout: float = 60) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.status_queries) >= count, timeout):
                raise AssertionError(f"{len(self.status_queries)} status queries after {timeout} s")

    @property
    def online(self) -> bool:
        return self.paper and not self.cover_open

    # --- one connection ------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.add(connection)
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        reader = _Reader(connection)
        printout = Printout()
        try:
            while True:
                command = reader.command()
                if command is None:
                    break
                if command == DLE:
                    self._answer_status(reader, connection)
                    continue
                # A job's command: a printer out of paper or with its cover open takes no more.
                self._wait_until_online()
                if self._stopping:
                    break
                self._job_command(command, reader, printout)
                printout.last_byte_at = reader.last_byte_at
        except (OSError, _Truncated):
            pass
        finally:
            self._connections.discard(connection)
            connection.close()
        if printout.blocks or printout.cut:
            with self._changed:
                self.printouts.append(printout)
                self._changed.notify_all()

    def _answer_status(self, reader: "_Reader", connection: socket.socket) -> None:
        if reader.byte() != EOT:
            raise _Truncated  # no other DLE command is sent to a receipt printer
        n = reader.byte()
        with self._changed:
            if n == 1:
                answer = FIXED | (0 if self.online else OFFLINE)
            elif n == 2:
                cover = COVER_OPEN if self.cover_open else 0
                answer = FIXED | cover | (0 if self.paper else STOPPED_PAPER_END)
            elif n == 4:
                answer = FIXED | (0 if self.paper else PAPER_END)
            else:
                answer = FIXED
            self.status_queries.append(n)
            self._changed.notify_all()
        connection.sendall(bytes([answer]))

    def _wait_until_online(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.online or self._stopping)

    def _job_command(self, command: int, reader: "_Reader", printout: Printout) -> None:
        if command == ESC:
            kind = reader.byte()
            if kind == ord("@"):
                printout.initialised = True
            elif kind == ord("d"):
                printout.feeds += reader.byte()
            else:
                self.unknown.append(bytes([ESC, kind]))
        elif command == GS:
            kind = reader.byte()
            if kind == ord("v"):
                self._raster(reader, printout)
            elif kind == ord("V"):
                mode = reader.byte()
                if mode in (65, 66):  # feed, then cut: one more byte
                    reader.byte()
                printout.cut = True
            else:
                self.unknown.append(bytes([GS, kind]))
        elif command != LF:
            self.unknown.append(bytes([command]))

    def _raster(self, reader: "_Reader", printout: Printout) -> None:
        """``GS v 0 m xL xH yL yH`` and the dots: a block of the image, a bit a dot, 1 printed."""
        zero, _density = reader.take(2)
        if zero != ord("0"):
            self.unknown.append(b"GSv" + bytes([zero]))
            return
        xl, xh, yl, yh = reader.take(4)
        width_bytes, height = xl + 256 * xh, yl + 256 * yh
        dots = reader.take(width_bytes * height)
        # PIL's 1-bit images have 1 for white: invert to paper's black on white.
        block = ImageOps.invert(Image.frombytes("1", (width_bytes * 8, height), dots).convert("L"))
        with self._changed:
            if self._lines_left is not None:
                self._lines_left -= height
                if self._lines_left < 0:
                    # The roll ends within this block; the rest waits for new paper.
                    self.paper = False
                    self._changed.notify_all()
        printout.blocks.append(block)


class _Truncated(Exception):
    """The connection ended in the middle of a command."""


class _Reader:
    """Bytes from a socket, one command at a time."""

    def __init__(self, connection: socket.socket):
        self.connection = connection
        self.buffer = bytearray()
        self.last_byte_at = 0.0

    def _fill(self) -> bool:
        chunk = self.connection.recv(65536)
        if not chunk:
            return False
        self.last_byte_at = time.perf_counter()
        self.buffer += chunk
        return True

    def command(self) -> int | None:
        """The next command's first byte; None when the connection has ended."""
        if not self.buffer and not self._fill():
            return None
        return self.byte()

    def byte(self) -> int:
        return self.take(1)[0]

    def take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            if not self._fill():
                raise _Truncated
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data
