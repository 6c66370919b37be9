"""The bytes on the wire: compact JSON, gzip-compressed.

Decompression is bounded so a small body cannot unfold into gigabytes.
"""

import gzip
import json
import zlib

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "gzip"
MAX_DECOMPRESSED = 64 * 1024 * 1024


class BadBody(Exception):
    """Not gzip, not UTF-8 JSON, or too large once decompressed."""


# Made once: json.dumps with these options would build an encoder per call,
# and the hub takes a digest of every record it receives.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dumps(obj) -> bytes:
    return _ENCODER.encode(obj).encode()


def encode(obj) -> bytes:
    return gzip.compress(dumps(obj), compresslevel=1, mtime=0)


def decode(body: bytes, limit: int = MAX_DECOMPRESSED):
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        raw = inflater.decompress(body, limit)
        if inflater.unconsumed_tail:
            raise BadBody("body too large once decompressed")
        if not inflater.eof:
            raise BadBody("body is truncated")
        return json.loads(raw)
    except zlib.error as error:
        raise BadBody("body is not gzip") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadBody("body is not JSON") from error
    except RecursionError as error:
        raise BadBody("body is nested too deeply") from error


def canonical(obj) -> bytes:
    """The one byte form of a record that its digest is taken over."""
    return dumps(obj)
