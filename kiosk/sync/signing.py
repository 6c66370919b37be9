"""Ed25519 signatures over requests, answers and bundles.

A request is signed over its method, path (with query), timestamp, nonce and
the SHA-256 of its body as sent on the wire; an answer over its status, the
nonce of the request it answers, its timestamp and the SHA-256 of its body.
Binding the answer to the request nonce means an old answer (an old
acknowledgement) cannot be replayed as the answer to a new request.
"""

import base64
import binascii
import functools
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PROTOCOL = "kiosk-sync-1"

H_STATION = "X-Kiosk-Station"
H_TIMESTAMP = "X-Kiosk-Timestamp"
H_NONCE = "X-Kiosk-Nonce"
H_DIGEST = "X-Kiosk-Content-SHA256"
H_SIGNATURE = "X-Kiosk-Signature"
H_HUB_TIME = "X-Kiosk-Hub-Time"


class BadSignature(Exception):
    """A signature that does not verify, or is not even well formed."""


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_message(method: str, path: str, timestamp: str, nonce: str, digest: str) -> bytes:
    return "\n".join([PROTOCOL, "request", method.upper(), path, timestamp, nonce, digest]).encode()


def response_message(status: int, request_nonce: str, timestamp: str, digest: str) -> bytes:
    return "\n".join([PROTOCOL, "response", str(status), request_nonce, timestamp, digest]).encode()


def bundle_message(kind: str, body: bytes) -> bytes:
    return "\n".join([PROTOCOL, kind, body_digest(body)]).encode()


def public_key_text(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error, TypeError) as error:
        raise BadSignature("not an Ed25519 public key") from error


@functools.lru_cache(maxsize=4096)
def public_key(text: str) -> Ed25519PublicKey:
    """``parse_public_key``, remembered: the hub reads a station's key once a process, not once a request."""
    return parse_public_key(text)


def sign(private_key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(private_key.sign(message)).decode()


def verify(public_key: str | Ed25519PublicKey, message: bytes, signature: str | None) -> None:
    """Raise BadSignature unless ``signature`` is ``public_key``'s over ``message``."""
    if not signature:
        raise BadSignature("no signature")
    key = parse_public_key(public_key) if isinstance(public_key, str) else public_key
    try:
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError, binascii.Error) as error:
        raise BadSignature("signature does not verify") from error


def load_or_make_key(path: Path) -> Ed25519PrivateKey:
    """The private key kept in ``path`` (mode 0600), made there on first use.

    The key never leaves the box: only its public half is ever sent.
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        tmp = _write_new_key(path)
    try:
        # link() fails if another process made the key meanwhile: theirs wins.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return _read_key(path)


def _write_new_key(path: Path) -> Path:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    return tmp


def _read_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key
