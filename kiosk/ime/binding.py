"""librime through ctypes: the few calls of ``rime_api.h`` the kiosk needs.

librime may be set up once per process (a second ``RimeSetup`` aborts the
process) and is not safe to call from two threads at once, so this module
keeps one :class:`Rime` per process and every call goes through its lock.
"""

import atexit
import ctypes
import ctypes.util
import threading
from pathlib import Path

c_char_p = ctypes.c_char_p
c_int = ctypes.c_int
c_void_p = ctypes.c_void_p
SessionId = ctypes.c_size_t  # RimeSessionId is a uintptr_t


class Traits(ctypes.Structure):
    _fields_ = [
        ("data_size", c_int),
        ("shared_data_dir", c_char_p),
        ("user_data_dir", c_char_p),
        ("distribution_name", c_char_p),
        ("distribution_code_name", c_char_p),
        ("distribution_version", c_char_p),
        ("app_name", c_char_p),
        ("modules", ctypes.POINTER(c_char_p)),
        ("min_log_level", c_int),
        ("log_dir", c_char_p),
        ("prebuilt_data_dir", c_char_p),
        ("staging_dir", c_char_p),
    ]


class Candidate(ctypes.Structure):
    _fields_ = [("text", c_char_p), ("comment", c_char_p), ("reserved", c_void_p)]


class CandidateIterator(ctypes.Structure):
    _fields_ = [("ptr", c_void_p), ("index", c_int), ("candidate", Candidate)]


class Composition(ctypes.Structure):
    _fields_ = [
        ("length", c_int),
        ("cursor_pos", c_int),
        ("sel_start", c_int),
        ("sel_end", c_int),
        ("preedit", c_char_p),
    ]


class Menu(ctypes.Structure):
    _fields_ = [
        ("page_size", c_int),
        ("page_no", c_int),
        ("is_last_page", c_int),
        ("highlighted_candidate_index", c_int),
        ("num_candidates", c_int),
        ("candidates", ctypes.POINTER(Candidate)),
        ("select_keys", c_char_p),
    ]


class Context(ctypes.Structure):
    _fields_ = [
        ("data_size", c_int),
        ("composition", Composition),
        ("menu", Menu),
        ("commit_text_preview", c_char_p),
        ("select_labels", ctypes.POINTER(c_char_p)),
    ]


class Commit(ctypes.Structure):
    _fields_ = [("data_size", c_int), ("text", c_char_p)]


# The RimeApi table up to the calls used here; only functions absent from
# the library's exported symbols (get_input, select_candidate) are taken from it.
_API_SLOTS = (
    "setup set_notification_handler initialize finalize start_maintenance is_maintenance_mode "
    "join_maintenance_thread deployer_initialize prebuild deploy deploy_schema deploy_config_file "
    "sync_user_data create_session find_session destroy_session cleanup_stale_sessions "
    "cleanup_all_sessions process_key commit_composition clear_composition get_commit free_commit "
    "get_context free_context get_status free_status set_option get_option set_property get_property "
    "get_schema_list free_schema_list get_current_schema select_schema schema_open config_open "
    "config_close config_get_bool config_get_int config_get_double config_get_string "
    "config_get_cstring config_update_signature config_begin_map config_next config_end "
    "simulate_key_sequence register_module find_module run_task get_shared_data_dir "
    "get_user_data_dir get_sync_dir get_user_id get_user_data_sync_dir config_init "
    "config_load_string config_set_bool config_set_int config_set_double config_set_string "
    "config_get_item config_set_item config_clear config_create_list config_create_map "
    "config_list_size config_begin_list get_input get_caret_pos select_candidate"
).split()


class Api(ctypes.Structure):
    _fields_ = [("data_size", c_int)] + [(name, c_void_p) for name in _API_SLOTS]


def _struct(kind):
    value = kind()
    value.data_size = ctypes.sizeof(kind) - ctypes.sizeof(c_int)
    return value


class RimeUnavailable(RuntimeError):
    """librime is not installed, or could not start."""


class Rime:
    """The process's librime, set up once, every call under one lock."""

    def __init__(self, shared: Path, user: Path, staging: Path, prebuilt: Path):
        name = ctypes.util.find_library("rime")
        if not name:
            raise RimeUnavailable("librime is not installed (Debian package librime1)")
        lib = ctypes.CDLL(name)
        self.lock = threading.RLock()
        self.staging = staging
        lib.rime_get_api.restype = ctypes.POINTER(Api)
        api = lib.rime_get_api().contents
        lib.RimeCreateSession.restype = SessionId
        for fn in ("RimeDestroySession", "RimeFindSession", "RimeClearComposition", "RimeSimulateKeySequence",
                   "RimeProcessKey", "RimeGetContext", "RimeGetCommit", "RimeCandidateListBegin",
                   "RimeCandidateListFromIndex", "RimeSelectSchema", "RimeSetOption", "RimeGetOption"):
            getattr(lib, fn).restype = c_int
        lib.RimeDestroySession.argtypes = [SessionId]
        lib.RimeFindSession.argtypes = [SessionId]
        lib.RimeClearComposition.argtypes = [SessionId]
        lib.RimeClearComposition.restype = None
        lib.RimeSimulateKeySequence.argtypes = [SessionId, c_char_p]
        lib.RimeProcessKey.argtypes = [SessionId, c_int, c_int]
        lib.RimeGetContext.argtypes = [SessionId, ctypes.POINTER(Context)]
        lib.RimeFreeContext.argtypes = [ctypes.POINTER(Context)]
        lib.RimeGetCommit.argtypes = [SessionId, ctypes.POINTER(Commit)]
        lib.RimeFreeCommit.argtypes = [ctypes.POINTER(Commit)]
        lib.RimeCandidateListBegin.argtypes = [SessionId, ctypes.POINTER(CandidateIterator)]
        lib.RimeCandidateListFromIndex.argtypes = [SessionId, ctypes.POINTER(CandidateIterator), c_int]
        lib.RimeCandidateListNext.argtypes = [ctypes.POINTER(CandidateIterator)]
        lib.RimeCandidateListNext.restype = c_int
        lib.RimeCandidateListEnd.argtypes = [ctypes.POINTER(CandidateIterator)]
        lib.RimeCandidateListEnd.restype = None
        lib.RimeSelectSchema.argtypes = [SessionId, c_char_p]
        lib.RimeSetOption.argtypes = [SessionId, c_char_p, c_int]
        lib.RimeSetOption.restype = None
        lib.RimeGetOption.argtypes = [SessionId, c_char_p]
        self._get_input = ctypes.CFUNCTYPE(c_char_p, SessionId)(api.get_input)
        self._select = ctypes.CFUNCTYPE(c_int, SessionId, ctypes.c_size_t)(api.select_candidate)
        self.lib = lib
        # The strings must outlive the set-up call: librime keeps the pointers.
        self._keep = [str(p).encode() for p in (shared, user, staging, prebuilt)]
        traits = _struct(Traits)
        traits.shared_data_dir, traits.user_data_dir, traits.staging_dir, traits.prebuilt_data_dir = (
            self._keep[0], self._keep[1], self._keep[2], self._keep[3])
        traits.distribution_name = b"kiosk"
        traits.distribution_code_name = b"kiosk"
        traits.distribution_version = b"1"
        traits.app_name = b"rime.kiosk"
        traits.min_log_level = 2  # errors only
        traits.log_dir = b""  # to stderr, never files in /tmp
        self._traits = traits
        lib.RimeSetup(ctypes.byref(traits))
        # No maintenance thread: the data was built at set-up by rime_deployer.
        lib.RimeInitialize(None)
        # Without an orderly end librime's own threads crash the interpreter's exit.
        atexit.register(self.finalize)

    def finalize(self) -> None:
        with self.lock:
            self.lib.RimeCleanupAllSessions()
            self.lib.RimeFinalize()

    def create_session(self, schema: str) -> int:
        with self.lock:
            session = self.lib.RimeCreateSession()
            if not session:
                raise RimeUnavailable("librime could not open a session")
            if not self.lib.RimeSelectSchema(session, schema.encode()):
                self.lib.RimeDestroySession(session)
                raise RimeUnavailable(f"the Rime schema {schema} is not deployed")
            return session

    def destroy_session(self, session: int) -> None:
        with self.lock:
            self.lib.RimeDestroySession(session)

    def exists(self, session: int) -> bool:
        with self.lock:
            return bool(self.lib.RimeFindSession(session))

    def option(self, session: int, name: str) -> bool:
        with self.lock:
            return bool(self.lib.RimeGetOption(session, name.encode()))

    def set_option(self, session: int, name: str, value: bool) -> None:
        with self.lock:
            self.lib.RimeSetOption(session, name.encode(), int(value))

    def type(self, session: int, letters: str, clear: bool = True) -> None:
        """Type ``letters`` (a-z and ') into the session, after clearing it unless told not to."""
        with self.lock:
            if clear:
                self.lib.RimeClearComposition(session)
            if letters:
                self.lib.RimeSimulateKeySequence(session, letters.encode())

    def clear(self, session: int) -> None:
        with self.lock:
            self.lib.RimeClearComposition(session)

    def input(self, session: int) -> str:
        with self.lock:
            raw = self._get_input(session)
            return raw.decode() if raw else ""

    def preedit(self, session: int) -> str:
        with self.lock:
            context = _struct(Context)
            if not self.lib.RimeGetContext(session, ctypes.byref(context)):
                return ""
            try:
                raw = context.composition.preedit
                return raw.decode() if raw else ""
            finally:
                self.lib.RimeFreeContext(ctypes.byref(context))

    def candidates(self, session: int, start: int, count: int) -> list[tuple[str, str]]:
        """Up to ``count`` candidates (text, comment) of what is typed, from index ``start``."""
        out = []
        with self.lock:
            iterator = CandidateIterator()
            if not self.lib.RimeCandidateListFromIndex(session, ctypes.byref(iterator), start):
                return out
            try:
                while len(out) < count and self.lib.RimeCandidateListNext(ctypes.byref(iterator)):
                    candidate = iterator.candidate
                    out.append((candidate.text.decode() if candidate.text else "",
                                candidate.comment.decode() if candidate.comment else ""))
            finally:
                self.lib.RimeCandidateListEnd(ctypes.byref(iterator))
        return out

    def select(self, session: int, index: int) -> str | None:
        """Pick candidate ``index``; the text committed when that finished the input, else None."""
        with self.lock:
            if not self._select(session, index):
                return None
            commit = _struct(Commit)
            if not self.lib.RimeGetCommit(session, ctypes.byref(commit)):
                return None
            try:
                return commit.text.decode() if commit.text else ""
            finally:
                self.lib.RimeFreeCommit(ctypes.byref(commit))


_process_rime: Rime | None = None
_process_lock = threading.Lock()


def process_rime(shared: Path, user: Path, staging: Path, prebuilt: Path) -> Rime:
    """The process's one librime, set up on first use with these folders.

    A later call naming another deployment cannot be honoured (librime can be
    set up once only): it is refused rather than served from the wrong data.
    """
    global _process_rime
    with _process_lock:
        if _process_rime is None:
            _process_rime = Rime(shared, user, staging, prebuilt)
        elif _process_rime.staging != staging:
            raise RimeUnavailable(
                f"this process already runs Rime on {_process_rime.staging}; it cannot also use {staging}")
        return _process_rime
