"""Password hashing with bcrypt (the maintained ``bcrypt`` package; no hand-rolled crypto)."""

from __future__ import annotations

from lockgate.errors import InvalidArgument

__all__ = ["MIN_PASSWORD_LENGTH", "hash_password", "verify_password"]

MIN_PASSWORD_LENGTH = 8
_BCRYPT_MAX_BYTES = 72


def hash_password(password: str) -> str:
    """A salted bcrypt hash of ``password``; refuses passwords bcrypt would silently truncate."""
    import bcrypt

    raw = password.encode()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    if len(raw) > _BCRYPT_MAX_BYTES:
        raise InvalidArgument(f"Passwords may be at most {_BCRYPT_MAX_BYTES} bytes long (bcrypt's limit).")
    return bcrypt.hashpw(raw, bcrypt.gensalt()).decode()


def verify_password(password: str, hashed: str) -> bool:
    """True when ``password`` matches the stored hash."""
    import bcrypt

    raw = password.encode()
    if len(raw) > _BCRYPT_MAX_BYTES:
        return False
    try:
        return bool(bcrypt.checkpw(raw, hashed.encode()))
    except ValueError:
        return False
