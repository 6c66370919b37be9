"""The bytes on the wire: compact JSON, gzip-compressed.

Decoding is bounded before anything is parsed, so a small body can unfold
neither into gigabytes of text nor into millions of Python objects: the
body is inflated in chunks up to a limit, then its tokens are counted (see
``_count_tokens``) before ``json.loads`` builds a single object.
"""

import gzip
import json
import re
import zlib

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "gzip"
MAX_DECOMPRESSED = 64 * 1024 * 1024
# Inflated this much at a time, so a bomb is stopped within a chunk of the limit.
_CHUNK = 1024 * 1024


class BadBody(Exception):
    """Not gzip, not UTF-8 JSON, or too large once decompressed."""


class TooLarge(BadBody):
    """More bytes, tokens or bytes in one string than the caller allows."""


# Made once: json.dumps with these options would build an encoder per call,
# and the hub takes a digest of every record it receives.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dumps(obj) -> bytes:
    return _ENCODER.encode(obj).encode()


def encode(obj) -> bytes:
    return gzip.compress(dumps(obj), compresslevel=1, mtime=0)


def decode(
    body: bytes, limit: int = MAX_DECOMPRESSED, max_tokens: int | None = None, max_string: int | None = None
):
    """The JSON in a gzip body; ``TooLarge`` past ``limit`` bytes inflated.

    With ``max_tokens`` the body is also refused before it is parsed when it
    holds more tokens (``_count_tokens``), a string longer than
    ``max_string`` bytes, or characters beyond U+FFFF in more than a quarter
    of ``limit``: so parsing never takes more than some four times ``limit``.
    """
    raw = inflate(body, limit)
    if max_tokens is not None:
        if len(raw) * 4 > limit and _BEYOND_BMP.search(raw):
            # One character past U+FFFF makes Python hold the whole text, and
            # each string holding one, at four bytes a character.
            raise TooLarge(f"body with characters beyond U+FFFF larger than {limit // 4} bytes")
        _count_tokens(raw, max_tokens, max_string or limit)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadBody("body is not UTF-8 JSON") from error
    del raw  # only the text is parsed: never both copies and the objects at once
    try:
        return json.loads(text)
    except RecursionError as error:
        raise BadBody("body is nested too deeply") from error
    except ValueError as error:  # JSONDecodeError, and integers too long to read
        raise BadBody("body is not JSON") from error


def inflate(body: bytes, limit: int) -> bytearray:
    """A gzip body inflated, at most ``limit`` bytes of it (else ``TooLarge``)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    raw = bytearray()
    pending = body
    try:
        while not inflater.eof:
            chunk = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                raise BadBody("body is truncated")
            if len(raw) + len(chunk) > limit:
                raise TooLarge(f"body larger than {limit} bytes once decompressed")
            raw += chunk
    except zlib.error as error:
        raise BadBody("body is not gzip") from error
    return raw


# The first byte of a character past U+FFFF in UTF-8.
_BEYOND_BMP = re.compile(rb"[\xf0-\xf4]")

# One token: whatever stands before it (digits, true, white space), then a
# string or one of the characters that can start a value ("[" "{") or
# follow one ("," ":"). Possessive, so a broken string costs one pass.
_TOKEN = re.compile(rb'[^"\[{,:]*+(?:("(?:[^"\\]++|\\.)*+")|[\[{,:])', re.DOTALL)


def _count_tokens(raw: bytearray, max_tokens: int, max_string: int) -> None:
    """Refuse a body of more than ``max_tokens`` tokens: strings, and the
    characters "[", "{", "," and ":" outside them.

    ``json.loads`` has no hook for every value it makes (lists and strings
    have none), and an empty object costs 70 bytes for its 3 on the wire, so
    the tokens are counted first: every value but the first follows one of
    those characters, so a body makes at most ``max_tokens + 1`` values.
    A pre-scan rather than a streaming parser: it allocates nothing that
    lasts, its loop stops at the limit (a hostile body costs at most
    ``max_tokens`` steps), and the parse that follows stays the fast C one.
    """
    tokens, position, end = 0, 0, len(raw)
    while position < end:
        token = _TOKEN.match(raw, position)
        if token is None:
            return  # what is left holds no value, or is not JSON (json.loads says so)
        tokens += 1
        if tokens > max_tokens:
            raise TooLarge(f"more than {max_tokens} tokens in the body")
        if token.start(1) >= 0 and token.end(1) - token.start(1) > max_string:
            raise TooLarge(f"a string longer than {max_string} bytes in the body")
        position = token.end()


def canonical(obj) -> bytes:
    """The one byte form of a record that its digest is taken over."""
    return dumps(obj)
