"""The station's HTTP client to the hub: the one place that talks to it.

``HubClient.call`` signs a request, sends it through a transport, and
returns the answer only after checking the hub's signature over it and that
it answers *this* request (its nonce). Anything else raises, so the caller
never acts on an answer it cannot trust.
"""

import json
import secrets
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol
from urllib.parse import urlsplit

from ..clock import to_millis
from . import signing, wire

API = "/api/v1/sync"
# How a call's body is sent: gzip-compressed JSON, but for a voice message's chunks.
JSON_BODY = {"Content-Type": wire.CONTENT_TYPE, "Content-Encoding": wire.CONTENT_ENCODING}


class LinkDown(Exception):
    """No answer from the hub: network down, timeout, connection reset."""


class HubBusy(LinkDown):
    """The hub's proxy answered in its place: the hub is busy (its queue full) or its
    answer is overdue. Nothing says the request was kept; sending it again is safe
    (records are stored once by UUID), after ``retry_after`` seconds if the proxy said."""

    def __init__(self, status: int, retry_after: float | None):
        super().__init__(f"镇人大办正忙 (HTTP {status})")
        self.status, self.retry_after = status, retry_after


# What nginx answers itself for the hub: the app signs every answer of its own, errors too.
PROXY_STATUSES = {502, 503, 504}
# A Retry-After above this is not believed (it is not signed): the station's own longest wait.
RETRY_AFTER_MAX = 1800


def retry_after(value: str | None) -> float | None:
    """A Retry-After header's seconds (the date form is not used by the hub's proxy), or None."""
    if value is None or not value.strip().isdigit():
        return None
    return float(min(int(value.strip()), RETRY_AFTER_MAX))


class BadAnswer(Exception):
    """An answer that is not signed by the hub, or not for this request."""


class HubRefused(Exception):
    """The hub answered, signed, with a 4xx or 5xx refusal."""

    def __init__(self, status: int, code: str, message: str, hub_time: int | None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.hub_time = status, code, message, hub_time


@dataclass
class Reply:
    status: int
    headers: dict  # lower-case names
    body: bytes


class Transport(Protocol):
    def send(self, method: str, path: str, headers: dict, body: bytes) -> Reply: ...


class HttpTransport:
    """HTTP(S) with the hub's certificate verified (optionally against a CA file)."""

    def __init__(self, base_url: str, timeout: float = 60, ca_file: str | None = None):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"hub URL must be http:// or https://, not {base_url!r}")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=ca_file) if parts.scheme == "https" else None

    def send(self, method: str, path: str, headers: dict, body: bytes) -> Reply:
        request = urllib.request.Request(self.origin + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                return Reply(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, _lower(error.headers), error.read())
        except (urllib.error.URLError, OSError, socket.timeout, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise LinkDown(f"镇人大办的证书验证失败: {reason.verify_message}") from error
            raise LinkDown(str(reason)) from error


def _lower(headers) -> dict:
    return {k.lower(): v for k, v in headers.items()}


class HubClient:
    """Signed calls to the hub on behalf of one station."""

    def __init__(
        self,
        transport: Transport,
        station_code: str,
        private_key,
        hub_public_key: str,
        clock: Callable[[], datetime],
        offset_ms: int = 0,
        prefix: str = "",
    ):
        self.transport = transport
        self.station_code = station_code
        self.private_key = private_key
        self.hub_public_key = signing.parse_public_key(hub_public_key)
        self.clock = clock
        self.offset_ms = offset_ms
        self.prefix = prefix
        # Hub clock minus ours, from the last verified answer.
        self.observed_offset_ms: int | None = None
        self.bytes_sent = 0
        self.bytes_received = 0

    def call(self, endpoint: str, payload: dict, body: bytes | None = None) -> dict:
        """POST ``payload`` to ``endpoint``; once more if our clock was off.

        ``body``: ``payload`` already encoded (``wire.encode``), by a caller
        that had time to spare while the previous request was at the hub."""
        body = wire.encode(payload) if body is None else body
        return self._retried(endpoint, body, JSON_BODY)

    def send_bytes(self, endpoint: str, body: bytes) -> dict:
        """POST raw bytes (a chunk of a voice message) to ``endpoint``, signed like any call."""
        return self._retried(endpoint, body, {"Content-Type": "application/octet-stream"})

    def _retried(self, endpoint: str, body: bytes, content: dict) -> dict:
        try:
            return self._call(endpoint, body, content)
        except HubRefused as refusal:
            if refusal.code != "stale_timestamp" or refusal.hub_time is None:
                raise
            return self._call(endpoint, body, content)

    def _call(self, endpoint: str, body: bytes, content: dict = JSON_BODY) -> dict:
        path = f"{self.prefix}{API}/{endpoint}"
        timestamp = str(to_millis(self.clock()) + self.offset_ms)
        nonce = secrets.token_urlsafe(18)
        digest = signing.body_digest(body)
        headers = {
            **content,
            signing.H_STATION: self.station_code,
            signing.H_TIMESTAMP: timestamp,
            signing.H_NONCE: nonce,
            signing.H_DIGEST: digest,
            signing.H_SIGNATURE: signing.sign(
                self.private_key, signing.request_message("POST", path, timestamp, nonce, digest)
            ),
        }
        self.bytes_sent += len(body) + sum(len(k) + len(v) for k, v in headers.items())
        reply = self.transport.send("POST", path, headers, body)
        self.bytes_received += len(reply.body)
        if reply.status in PROXY_STATUSES and signing.H_SIGNATURE.lower() not in reply.headers:
            raise HubBusy(reply.status, retry_after(reply.headers.get("retry-after")))
        answer = verify_answer(self.hub_public_key, reply, nonce)
        hub_time = answer.get("hub_time") if isinstance(answer, dict) else None
        if type(hub_time) is int:
            self.observed_offset_ms = hub_time - to_millis(self.clock())
            self.offset_ms = self.observed_offset_ms
        if reply.status >= 400:
            answer = answer if isinstance(answer, dict) else {}
            raise HubRefused(reply.status, str(answer.get("error")), str(answer.get("message")), hub_time)
        if not isinstance(answer, dict):
            raise BadAnswer("the hub's answer is not an object")
        return answer


def verify_answer(hub_key, reply: Reply, nonce: str):
    """The decoded body of a reply, after checking the hub signed it for ``nonce``."""
    timestamp = reply.headers.get(signing.H_HUB_TIME.lower(), "")
    signature = reply.headers.get(signing.H_SIGNATURE.lower(), "")
    digest = signing.body_digest(reply.body)
    try:
        signing.verify(hub_key, signing.response_message(reply.status, nonce, timestamp, digest), signature)
    except signing.BadSignature as error:
        raise BadAnswer(f"answer (HTTP {reply.status}) is not signed by the hub: {error}") from error
    try:
        if reply.headers.get("content-encoding", "").lower() == wire.CONTENT_ENCODING:
            return wire.decode(reply.body)
        return json.loads(reply.body)
    except (wire.BadBody, ValueError) as error:
        raise BadAnswer("the hub's answer is not JSON") from error


def enrol_request(transport: Transport, prefix: str, token: str, public_key: str, version: str) -> dict:
    """The one unsigned call: a token for this box's public key."""
    body = json.dumps({"token": token, "public_key": public_key, "software_version": version}).encode()
    reply = transport.send("POST", f"{prefix}{API}/enrol", {"Content-Type": "application/json"}, body)
    try:
        if reply.headers.get("content-encoding", "").lower() == wire.CONTENT_ENCODING:
            answer = wire.decode(reply.body)
        else:
            answer = json.loads(reply.body)
    except (wire.BadBody, ValueError) as error:
        raise BadAnswer(f"the hub's answer (HTTP {reply.status}) is not JSON") from error
    if reply.status >= 400 or not isinstance(answer, dict):
        answer = answer if isinstance(answer, dict) else {}
        raise HubRefused(reply.status, str(answer.get("error")), str(answer.get("message")), answer.get("hub_time"))
    # Trust on first use, over TLS: the key the hub names must sign this very answer.
    verify_answer(signing.parse_public_key(str(answer.get("hub_public_key"))), reply, "")
    return answer
