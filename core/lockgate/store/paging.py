"""Opaque page tokens: a base64 JSON offset, so clients cannot depend on their shape."""

from __future__ import annotations

import base64
import binascii
import json

from lockgate.errors import InvalidArgument

__all__ = ["decode_page_token", "encode_page_token"]


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The offset a token stands for; 0 for no token. A damaged token is INVALID_ARGUMENT."""
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = data["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument(f"Invalid page token {token!r}: pass back a token a search returned.") from None
