"""gunicorn at the hub (deploy/install-hub): several worker processes behind nginx.

nginx reads every request whole and takes every answer at once, so a sync
worker never waits on a slow phone or a village link: it only computes.
Processes, not threads: Flask and Jinja hold the GIL, and a worker per core
(and one more, for the moments a worker waits on PostgreSQL) uses the box.
"""

import multiprocessing
import os

# The socket nginx connects to; its folder is made by systemd (RuntimeDirectory).
bind = os.environ.get("KIOSK_HUB_BIND", "unix:/run/kiosk-hub/gunicorn.sock")
# nginx (in the hub's group) may connect; nobody else.
umask = 0o007
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# Requests nginx may queue at the socket: a few seconds' work for the workers.
# Beyond that nginx answers 502 at once (a station backs off and tries again)
# instead of queueing minutes: gunicorn's default of 2048 held 20,000 stations'
# syncs up to 60 s and then ended them with 504 (bench/hub_serve.py).
backlog = 256
# The longest request: a full sync push of 2,000 records, with room to spare.
timeout = 60
graceful_timeout = 30
# A worker is replaced now and then, so a slow leak never grows for months.
max_requests = 5000
max_requests_jitter = 500
# Every limit lives in PostgreSQL (login failures, look-up failures, nonces):
# a worker restarted or replaced forgets nothing that matters.
accesslog = None
errorlog = "-"
loglevel = "info"
proc_name = "kiosk-hub"
