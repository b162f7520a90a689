"""``AuthStore``: users, API tokens and permission grants in the tracking database."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from lockgate.errors import AlreadyExists, InvalidArgument, NotFound
from lockgate.server.auth.passwords import hash_password, verify_password
from lockgate.server.auth.throttle import LoginThrottle
from lockgate.store.sql.engine import get_engine, read_connection, write_connection
from lockgate.store.sql.server_tables import ApiTokenTable, PermissionTable, UserTable

__all__ = ["TOKEN_PREFIX", "AuthStore", "Permission", "ResourceType", "TokenInfo", "User", "check_auth_ready"]

U = UserTable
TK = ApiTokenTable
PM = PermissionTable

TOKEN_PREFIX = "lgt_"
_VERIFIED_LIMIT = 10_000
# The hash of no one's password, at bcrypt's default cost (the cost hash_password uses): an
# unknown user name is checked against it so that it takes as long as a wrong password.
_DUMMY_HASH = "$2b$12$5q82k0KN1147AZzK4nJ3FeTXYoDnzm3rIs1dqCykPgdRs/3ASbxJG"


class Permission(str, Enum):
    """What a user may do with one experiment or registered model; each level includes the lower ones."""

    READ = "READ"
    EDIT = "EDIT"
    MANAGE = "MANAGE"

    @property
    def rank(self) -> int:
        return {"READ": 1, "EDIT": 2, "MANAGE": 3}[self.value]

    def allows(self, needed: Permission) -> bool:
        return self.rank >= needed.rank


class ResourceType(str, Enum):
    EXPERIMENT = "experiment"
    REGISTERED_MODEL = "registered_model"


@dataclass(frozen=True)
class User:
    """An authenticated caller."""

    id: int
    name: str
    is_admin: bool = False


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    name: str
    created_at: int
    expires_at: int | None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _valid_username(name: str) -> str:
    if not name or len(name) > 256 or ":" in name or name.strip() != name:
        raise InvalidArgument(f"Invalid user name {name!r}: 1-256 characters, no ':' and no surrounding spaces.")
    return name


class AuthStore:
    """Users, tokens and grants.

    Every request reads its user's row (one indexed query), so a password change, deletion
    or demotion by ``lockgate users`` counts from the next request, in every worker. Only
    the bcrypt verdict is remembered, tied to the password hash it was checked against, so
    bcrypt (deliberately slow) runs once per client and password, not once per request.
    """

    def __init__(self, uri: str, *, throttle: LoginThrottle | None = None) -> None:
        self.engine = get_engine(uri)
        self.throttle = throttle
        self._verified: dict[bytes, str] = {}
        self._verified_key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ users
    def create_user(self, username: str, password: str, *, admin: bool = False) -> User:
        _valid_username(username)
        hashed = hash_password(password)
        try:
            with write_connection(self.engine) as conn:
                key = conn.execute(
                    insert(U).values(username=username, password_hash=hashed, is_admin=admin, created_at=_now_ms())
                ).inserted_primary_key
                assert key is not None
                uid = key[0]
        except IntegrityError:
            raise AlreadyExists(f"User {username!r} already exists.") from None
        return User(id=int(uid), name=username, is_admin=admin)

    def get_user(self, username: str) -> User:
        with read_connection(self.engine) as conn:
            row = conn.execute(select(U.c.id, U.c.username, U.c.is_admin).where(U.c.username == username)).first()
        if row is None:
            raise NotFound(f"No user named {username!r}.")
        return User(id=row.id, name=row.username, is_admin=bool(row.is_admin))

    def list_users(self) -> list[User]:
        with read_connection(self.engine) as conn:
            rows = conn.execute(select(U.c.id, U.c.username, U.c.is_admin).order_by(U.c.username)).all()
        return [User(id=r.id, name=r.username, is_admin=bool(r.is_admin)) for r in rows]

    def count_users(self) -> int:
        return len(self.list_users())

    def set_password(self, username: str, password: str) -> None:
        hashed = hash_password(password)
        with write_connection(self.engine) as conn:
            if conn.execute(update(U).where(U.c.username == username).values(password_hash=hashed)).rowcount == 0:
                raise NotFound(f"No user named {username!r}.")

    def set_admin(self, username: str, admin: bool) -> None:
        with write_connection(self.engine) as conn:
            if conn.execute(update(U).where(U.c.username == username).values(is_admin=admin)).rowcount == 0:
                raise NotFound(f"No user named {username!r}.")

    def delete_user(self, username: str) -> None:
        user = self.get_user(username)
        with write_connection(self.engine) as conn:
            conn.execute(delete(PM).where(PM.c.user_id == user.id))
            conn.execute(delete(TK).where(TK.c.user_id == user.id))
            conn.execute(delete(U).where(U.c.id == user.id))

    # ---------------------------------------------------------- authentication
    def authenticate_basic(self, username: str, password: str, *, address: str | None = None) -> User | None:
        """The user when the password matches (or is one of the user's API tokens), else None.

        With an ``address`` (the client's) and a ``throttle``, failures are counted and
        ``TooManyAttempts`` is raised while the user or address is locked out; a client whose
        password was already verified is not held up by someone else's failures.
        """
        if password.startswith(TOKEN_PREFIX):
            # 256 random bits: not guessable, and looked up (never cached) on every request.
            user = self.authenticate_token(password)
            return user if user is not None and user.name == username else None
        with read_connection(self.engine) as conn:
            row = conn.execute(
                select(U.c.id, U.c.username, U.c.is_admin, U.c.password_hash).where(U.c.username == username)
            ).first()
        key = hmac.new(self._verified_key, f"{username}\0{password}".encode(), hashlib.sha256).digest()
        if row is not None and self._verified.get(key) == row.password_hash:
            return User(id=row.id, name=row.username, is_admin=bool(row.is_admin))
        throttle = self.throttle if address is not None else None
        if throttle is not None:
            throttle.check(user=username, address=str(address))
        matched = verify_password(password, row.password_hash if row is not None else _DUMMY_HASH)
        if row is None or not matched:
            if throttle is not None:
                throttle.failed(user=username, address=str(address))
            return None
        if throttle is not None:
            throttle.succeeded(user=username)
        with self._lock:
            if len(self._verified) >= _VERIFIED_LIMIT:
                self._verified.clear()
            self._verified[key] = row.password_hash
        return User(id=row.id, name=row.username, is_admin=bool(row.is_admin))

    def authenticate_token(self, token: str) -> User | None:
        """The token's user; None for unknown or expired tokens."""
        with read_connection(self.engine) as conn:
            row = conn.execute(
                select(U.c.id, U.c.username, U.c.is_admin, TK.c.expires_at)
                .join(TK, TK.c.user_id == U.c.id)
                .where(TK.c.token_hash == _token_hash(token))
            ).first()
        if row is None or (row.expires_at is not None and row.expires_at <= _now_ms()):
            return None
        return User(id=row.id, name=row.username, is_admin=bool(row.is_admin))

    def token_is_expired(self, token: str) -> bool:
        with read_connection(self.engine) as conn:
            row = conn.execute(select(TK.c.expires_at).where(TK.c.token_hash == _token_hash(token))).first()
        return row is not None and row.expires_at is not None and row.expires_at <= _now_ms()

    # ----------------------------------------------------------------- tokens
    def create_token(self, username: str, *, name: str = "default", expires_in_s: int | None = None) -> str:
        """A new API token for the user; the plaintext is returned once and never stored."""
        user = self.get_user(username)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = _now_ms() + expires_in_s * 1000 if expires_in_s is not None else None
        with write_connection(self.engine) as conn:
            conn.execute(
                insert(TK).values(
                    user_id=user.id, name=name, token_hash=_token_hash(token), created_at=_now_ms(), expires_at=expires
                )
            )
        return token

    def list_tokens(self, username: str | None = None) -> list[TokenInfo]:
        stmt = select(TK.c.id, U.c.username, TK.c.name, TK.c.created_at, TK.c.expires_at).join(U, U.c.id == TK.c.user_id)
        if username:
            stmt = stmt.where(U.c.username == username)
        with read_connection(self.engine) as conn:
            rows = conn.execute(stmt.order_by(TK.c.id)).all()
        return [TokenInfo(id=r.id, username=r.username, name=r.name, created_at=r.created_at, expires_at=r.expires_at)
                for r in rows]

    def revoke_token(self, token_id: int) -> None:
        with write_connection(self.engine) as conn:
            if conn.execute(delete(TK).where(TK.c.id == token_id)).rowcount == 0:
                raise NotFound(f"No API token with id {token_id}.")

    # ------------------------------------------------------------ permissions
    def grant(self, username: str, resource_type: ResourceType | str, resource_id: str,
              permission: Permission | str) -> None:
        """Give ``username`` a permission on one experiment (by id) or registered model (by name)."""
        user = self.get_user(username)
        rtype, perm = ResourceType(resource_type), _permission(permission)
        with write_connection(self.engine) as conn:
            conn.execute(delete(PM).where(PM.c.user_id == user.id, PM.c.resource_type == rtype.value,
                                          PM.c.resource_id == str(resource_id)))
            conn.execute(insert(PM).values(user_id=user.id, resource_type=rtype.value, resource_id=str(resource_id),
                                           permission=perm.value))

    def revoke(self, username: str, resource_type: ResourceType | str, resource_id: str) -> None:
        user = self.get_user(username)
        with write_connection(self.engine) as conn:
            result = conn.execute(delete(PM).where(PM.c.user_id == user.id,
                                                   PM.c.resource_type == ResourceType(resource_type).value,
                                                   PM.c.resource_id == str(resource_id)))
            if result.rowcount == 0:
                raise NotFound(f"User {username!r} has no permission on {resource_type} {resource_id!r}.")

    def permission(self, user_id: int, resource_type: ResourceType, resource_id: str) -> Permission | None:
        with read_connection(self.engine) as conn:
            row = conn.execute(select(PM.c.permission).where(
                PM.c.user_id == user_id, PM.c.resource_type == resource_type.value, PM.c.resource_id == resource_id
            )).first()
        return Permission(row.permission) if row else None

    def readable(self, user_id: int, resource_type: ResourceType) -> set[str]:
        with read_connection(self.engine) as conn:
            rows = conn.execute(select(PM.c.resource_id).where(
                PM.c.user_id == user_id, PM.c.resource_type == resource_type.value)).all()
        return {r.resource_id for r in rows}

    def list_permissions(self, username: str) -> list[dict[str, Any]]:
        user = self.get_user(username)
        with read_connection(self.engine) as conn:
            rows = conn.execute(select(PM.c.resource_type, PM.c.resource_id, PM.c.permission)
                                .where(PM.c.user_id == user.id).order_by(PM.c.resource_type, PM.c.resource_id)).all()
        return [{"resource_type": r.resource_type, "resource_id": r.resource_id, "permission": r.permission}
                for r in rows]

    # --------------------------------------------------------------- bootstrap
    def bootstrap_admin_from_env(self) -> None:
        """Create the admin named by LOCKGATE_ADMIN_USERNAME/PASSWORD when there are no users yet."""
        name, password = os.environ.get("LOCKGATE_ADMIN_USERNAME"), os.environ.get("LOCKGATE_ADMIN_PASSWORD")
        if name and password and self.count_users() == 0:
            try:
                self.create_user(name, password, admin=True)
            except AlreadyExists:
                pass  # another worker won the race


def _permission(value: Permission | str) -> Permission:
    try:
        return Permission(str(getattr(value, "value", value)).upper())
    except ValueError:
        raise InvalidArgument(f"Invalid permission {value!r}: READ, EDIT or MANAGE.") from None


def check_auth_ready(uri: str) -> None:
    """Refuse to start an auth-enabled server nobody can log in to."""
    store = AuthStore(uri)
    store.bootstrap_admin_from_env()
    if not any(u.is_admin for u in store.list_users()):
        raise InvalidArgument(
            "Auth is on but there is no admin user. Create one with "
            "`lockgate users create NAME --admin --backend-store-uri URI`, or set "
            "LOCKGATE_ADMIN_USERNAME and LOCKGATE_ADMIN_PASSWORD."
        )
