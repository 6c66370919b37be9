"""Defaults for every setting.

Order of precedence: these defaults, then ``instance/config.py``, then
environment variables ``KIOSK_<SETTING>`` (parsed as JSON where they parse).
The README lists every setting; keep the two in step.
"""


class DefaultConfig:
    # "station": the kiosk at a liaison station; "hub": the township office.
    ROLE = "station"
    # None means a SQLite file ``kiosk.sqlite3`` in the instance folder.
    DATABASE_URL = None
    # Address printed in receipt QR codes. None: this box's own address
    # (the request's host) until the station is enrolled with a hub.
    PUBLIC_BASE_URL = None
    # This box's own address, for receipt QR codes made outside a request
    # (printing in the background) before PUBLIC_BASE_URL is set.
    LOCAL_BASE_URL = "http://127.0.0.1:5000"
    # CUPS queue name of the receipt printer; None means "no printer".
    PRINTER = None
    # CUPS server: "host:port" or a socket path; None means the system's
    # default (the CUPS_SERVER environment variable, else localhost).
    CUPS_SERVER = None
    # Paper width of the receipt roll, millimetres.
    PAPER_WIDTH_MM = 80
    # What the printer takes: "pdf" (a CUPS queue with a driver, such as the
    # demo's cups-pdf) or "escpos" (a thermal receipt printer on a CUPS raw
    # queue: the app sends the receipt as ESC/POS raster and asks the
    # printer itself about paper and cover).
    PRINTER_KIND = "pdf"
    # Dots a line of the thermal printer's head: 576 for 80 mm rolls, 384 for 58 mm.
    PRINTER_DOTS = 576
    # The thermal printer's own address, "host:port", for its status; None:
    # the CUPS queue's device when that is socket://host:port.
    PRINTER_DEVICE = None
    # A job CUPS has not completed after this long counts as failed.
    PRINT_DEADLINE_SECONDS = 45
    # Idle time on the kiosk before the countdown starts; then 15 s more.
    IDLE_SECONDS = 90
    IDLE_COUNTDOWN_SECONDS = 15
    # The receipt screen ends by itself this long after 提交, however it is
    # touched: the next person must not read the number and 验证码 there.
    RECEIPT_SECONDS = 30
    # Deputy mode (a deputy checked in for duty) ends by itself after this
    # long without a touch, as if they had tapped 签退.
    DEPUTY_IDLE_SECONDS = 600
    # After a new kiosk screen arrives, taps on it are held this long, so the
    # second tap of an unsure double tap (a second later) does nothing.
    TAP_SETTLE_MS = 1200
    # 说话留言: the longest recording, in seconds, and its largest file, in
    # bytes (WebM/Opus at about 24 kbit/s: two minutes are some 360 KB).
    VOICE_MAX_SECONDS = 120
    VOICE_MAX_BYTES = 1024 * 1024
    # Submissions per minute at one station before the polite wait screen.
    SUBMIT_PER_MINUTE = 6
    TIMEZONE = "Asia/Shanghai"
    # Version of the consent notice shown beside the name and phone fields;
    # stored with each record that gives contact details. 2026-12: the notice
    # says when the hub erases them (RETENTION_DAYS); 2026-12.2: the station
    # deletes them once the office holds them in its backup too.
    CONSENT_VERSION = "2026-12.2"
    # Hub: the phone page's own consent notice (kiosk.phone), stored with
    # each phone opinion that gives contact details. It says what the hub
    # keeps and for how long, not what a station box deletes.
    PHONE_CONSENT_VERSION = "phone-2026-12"
    # Hub: opinions from phones per hour. Villagers share their carrier's
    # addresses, so the per-address limit is generous; the limit per deputy's
    # or station's page is the one that stops a flood.
    PHONE_SUBMITS_PER_HOUR_PER_ADDRESS = 60
    PHONE_SUBMITS_PER_HOUR_PER_PAGE = 20
    # Days after an opinion is closed, declined or merged before the hub
    # erases its contact details (`flask retention run`, nightly). A station
    # names the same number in its consent notice: keep the two in step.
    RETENTION_DAYS = 365
    # Days `flask backup create DIR` keeps backups in DIR; older ones it removes.
    BACKUP_DAYS = 14
    # Station: the folder the pinyin engine's data (Rime, with the domain
    # dictionary) is built into at set-up, relative to the instance folder.
    RIME_FOLDER = "rime"

    # The first day of a term of the township congresses (本届, five years;
    # the terms before and after follow on): report-backs are counted per
    # term (every directly elected deputy reports back once a term), and the
    # deputy's file and the report count "this term so far" from it.
    TERM_START = "2016-12-01"
    # Apply pending Alembic migrations when the app is created.
    AUTO_MIGRATE = True
    # Test-only: name of a point on the submit path where the process
    # kills itself (os._exit), to prove crash safety. Never set in the field.
    CRASH_POINT = None

    # Hub: a staff session unused this long is ended on the server.
    STAFF_IDLE_MINUTES = 30
    # Hub: the instance's working-day override file (holidays and 调休 for
    # years the chinese-calendar package does not cover), relative to the
    # instance folder; see kiosk/workdays.py for the format.
    WORKDAY_OVERRIDES = "workdays.toml"
    # Hub: failed sign-ins counted per account (since its last success) and
    # per address within the window; past either limit the form asks to wait
    # and does not even check the password.
    LOGIN_FAILURES_PER_ACCOUNT = 5
    LOGIN_FAILURES_PER_ADDRESS = 20
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    # Hub: days a deputy's one-time activation code works (users add-deputies,
    # the deputy's staff page); after that staff issue a new one.
    DEPUTY_ACTIVATION_DAYS = 30
    # Send the session cookie over HTTPS only. Set true at a hub served over
    # HTTPS; off by default so a station kiosk and the demo work on plain http.
    SESSION_COOKIE_SECURE = False

    # Reverse proxies in front of the hub (e.g. 1 for nginx on the same box).
    # 0: none; the client's address is the connection's.
    TRUSTED_PROXIES = 0

    # Sync. Hub: how far a signed request's timestamp may be from the hub clock.
    SYNC_CLOCK_WINDOW_SECONDS = 300
    # Hub: most records in one pushed batch, and the largest request body.
    SYNC_MAX_BATCH = 2000
    SYNC_MAX_BODY = 16 * 1024 * 1024
    # Station: records per pushed batch.
    SYNC_BATCH_SIZE = 2000
    # Station: seconds between syncs while the link works; back-off doubles
    # from SYNC_RETRY_SECONDS up to SYNC_MAX_BACKOFF_SECONDS while it fails.
    SYNC_INTERVAL_SECONDS = 300
    SYNC_RETRY_SECONDS = 15
    SYNC_MAX_BACKOFF_SECONDS = 1800
    # Station: seconds before a request to the hub is given up.
    SYNC_TIMEOUT_SECONDS = 60
    # Station: CA bundle for the hub's HTTPS certificate (None: the system's).
    SYNC_CA_FILE = None
    # Station: run the sync loop inside the kiosk process.
    SYNC_BACKGROUND = True
    # Station: PIN of the sync admin screen (/admin/sync); None disables the screen.
    ADMIN_PIN = None
    # Tests may also set SYNC_CLOCK, a callable returning the current UTC time
    # (kiosk/clock.py); it has no default and no environment form.

    # Flask and extensions.
    # hide_parameters: a failed statement's log line must never carry the
    # name and phone it was writing.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    # Wrong receipt look-ups (number or 验证码) allowed from one address per
    # 10 minutes before a polite wait: 验证码 cannot be guessed by trying.
    LOOKUP_FAILURES_PER_10_MINUTES = 20
    # A kiosk page stays open for hours: the CSRF token must not expire.
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024
    JSON_AS_ASCII = False
