"""A small binding of Debian's zinnia handwriting engine (libzinnia0), by ctypes.

zinnia classifies one character written as strokes of points against an SVM
model; the station uses Tegaki's Simplified Chinese model
(tegaki-zinnia-simplified-chinese), which knows the 6,763 GB2312 characters.
zinnia's objects are not safe to share between threads: one lock guards the
recogniser and its one reusable character.
"""

import ctypes
import threading
from pathlib import Path

LIBRARY = "libzinnia.so.0"
MODEL = Path("/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model")


class ZinniaError(RuntimeError):
    """The engine or its model cannot be used on this box."""


def _library() -> ctypes.CDLL:
    try:
        # By its soname, as the Debian package installs it.
        lib = ctypes.CDLL(LIBRARY)
    except OSError as error:
        raise ZinniaError(f"{LIBRARY} is not installed (Debian package libzinnia0)") from error
    handle, size, text, number, real = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int, ctypes.c_float
    signatures = {
        "zinnia_recognizer_new": ([], handle),
        "zinnia_recognizer_destroy": ([handle], None),
        "zinnia_recognizer_open": ([handle, text], number),
        "zinnia_recognizer_strerror": ([handle], text),
        "zinnia_recognizer_size": ([handle], size),
        "zinnia_recognizer_value": ([handle, size], text),
        "zinnia_recognizer_classify": ([handle, handle, size], handle),
        "zinnia_character_new": ([], handle),
        "zinnia_character_destroy": ([handle], None),
        "zinnia_character_clear": ([handle], None),
        "zinnia_character_set_width": ([handle, size], None),
        "zinnia_character_set_height": ([handle, size], None),
        "zinnia_character_add": ([handle, size, number, number], number),
        "zinnia_result_size": ([handle], size),
        "zinnia_result_value": ([handle, size], text),
        "zinnia_result_score": ([handle, size], real),
        "zinnia_result_destroy": ([handle], None),
    }
    for name, (argtypes, restype) in signatures.items():
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = restype
    return lib


class Recognizer:
    """One zinnia recogniser with its model loaded (mapped, read-only)."""

    def __init__(self, model: Path = MODEL):
        if not model.is_file():
            raise ZinniaError(f"no handwriting model at {model} (Debian package tegaki-zinnia-simplified-chinese)")
        self._lib = _library()
        self._lock = threading.Lock()
        self._recognizer = self._lib.zinnia_recognizer_new()
        if not self._lib.zinnia_recognizer_open(self._recognizer, str(model).encode()):
            message = self._lib.zinnia_recognizer_strerror(self._recognizer) or b""
            self._lib.zinnia_recognizer_destroy(self._recognizer)
            raise ZinniaError(f"zinnia cannot open {model}: {message.decode(errors='replace')}")
        self._character = self._lib.zinnia_character_new()

    def characters(self) -> list[str]:
        """Every character the model knows."""
        with self._lock:
            count = self._lib.zinnia_recognizer_size(self._recognizer)
            return [self._lib.zinnia_recognizer_value(self._recognizer, i).decode() for i in range(count)]

    def classify(self, strokes: list[list[tuple[int, int]]], width: int, height: int, nbest: int) -> list[tuple[str, float]]:
        """The ``nbest`` likeliest characters for ``strokes`` (points in a
        ``width`` by ``height`` box, y down), with zinnia's scores, best first."""
        lib = self._lib
        with self._lock:
            lib.zinnia_character_clear(self._character)
            lib.zinnia_character_set_width(self._character, width)
            lib.zinnia_character_set_height(self._character, height)
            for number, stroke in enumerate(strokes):
                for x, y in stroke:
                    lib.zinnia_character_add(self._character, number, int(x), int(y))
            result = lib.zinnia_recognizer_classify(self._recognizer, self._character, nbest)
            if not result:
                return []
            try:
                return [
                    (lib.zinnia_result_value(result, i).decode(), float(lib.zinnia_result_score(result, i)))
                    for i in range(lib.zinnia_result_size(result))
                ]
            finally:
                lib.zinnia_result_destroy(result)

    def close(self) -> None:
        with self._lock:
            if self._recognizer:
                self._lib.zinnia_character_destroy(self._character)
                self._lib.zinnia_recognizer_destroy(self._recognizer)
                self._recognizer = self._character = None
