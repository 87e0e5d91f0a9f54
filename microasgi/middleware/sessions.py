"""``SessionMiddleware``: a dict per client, kept in a signed cookie.

``request.session`` (and ``websocket.session``) is a plain ``dict`` loaded from the cookie; what an
http endpoint leaves in it is written back, signed, with the response.

The cookie value is ``<payload>.<timestamp>.<signature>``: the payload is the session as compact
JSON in base64url, the timestamp the Unix time it was signed at, and the signature the base64url
HMAC-SHA256 of ``<payload>.<timestamp>`` (standard library ``hmac`` and ``hashlib`` only).

Threat model:

- **Signed, not encrypted.** Anyone holding the cookie can base64-decode the payload and read the
  session. Never put secrets (passwords, tokens, personal data you would not show the user) in it.
- **Integrity.** A changed byte anywhere gives an empty session: the signature is checked, in
  constant time (``hmac.compare_digest``), before anything else is decoded. The signing key is
  derived from ``secret_key`` and the cookie name (an HMAC of the secret over a fixed label), so
  the raw secret is never the HMAC key and two session cookies signed with one secret cannot be
  swapped for each other.
- **Expiry.** The timestamp is inside the signed part, so a client cannot extend a cookie's life:
  the server refuses a cookie signed more than ``max_age`` seconds ago even if the browser kept
  it. A session still in use is re-signed once half of that time has passed.
- **Replay.** Sessions are stateless: a copy of a cookie stays valid until it expires, even after
  the session was changed or cleared (logout). Keep ``max_age`` short for sensitive apps, or keep
  a server-side record (a session id in the cookie, the data in a database) you can revoke.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from microasgi._sansio.headers import encode_header_value
from microasgi.datastructures import Secret
from microasgi.requests import HTTPConnection
from microasgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Session", "SessionMiddleware"]

SecretKey = str | bytes | Secret

# Fixed label of the signing-key derivation; the cookie name is appended to it.
_KEY_LABEL = b"microasgi.middleware.sessions.signing-key\x00"
# SECURITY: RFC 6265 section 6.1: browsers keep cookies of at least 4096 bytes (name, value and
# attributes together) and may drop larger ones. Nothing larger is accepted or written.
_MAX_COOKIE_SIZE = 4096
# The lifetime a cookie's signature is held to when ``max_age=None`` (a browser-session cookie):
# browsers that restore sessions keep such cookies for weeks, so the server bounds them itself.
_BROWSER_SESSION_LIFETIME = 14 * 24 * 60 * 60
# SECURITY: a timestamp further in the future than this is refused (a clock-skew allowance for
# servers that share a key).
_CLOCK_SKEW = 60
_SAME_SITE = ("lax", "strict", "none")
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
# The clearing cookie's lifetime: Max-Age=0 for browsers that read it (it wins over Expires),
# and Starlette's expires date, spelled as Starlette writes it.
_EXPIRED = "Max-Age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT"


def _now() -> int:
    """The current Unix time in whole seconds (a module function so tests can replace it)."""
    return int(time.time())


class Session(dict[str, Any]):
    """The session: a ``dict`` that notes whether the app read it and whether it changed it.

    ``accessed`` (any read) makes the response carry ``Vary: Cookie``. ``modified`` (any write:
    setting, deleting, ``clear``, ``pop``, ``update`` ...) is kept for code written for Starlette's
    ``Session``; whether the cookie is written again does not depend on it: the middleware
    compares the session with what the cookie held, so an in-place change to a nested value
    (``session["cart"].append(...)``) is saved too.
    """

    accessed = False
    modified = False

    def mark_accessed(self) -> None:
        """Note that the app read the session."""
        self.accessed = True

    def mark_modified(self) -> None:
        """Note that the app changed the session (and so read it)."""
        self.accessed = True
        self.modified = True

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.accessed = True
        return super().__iter__()

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def keys(self) -> Any:
        self.accessed = True
        return super().keys()

    def values(self) -> Any:
        self.accessed = True
        return super().values()

    def items(self) -> Any:
        self.accessed = True
        return super().items()

    def __setitem__(self, key: str, value: Any) -> None:
        self.mark_modified()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.mark_modified()
        super().__delitem__(key)

    def clear(self) -> None:
        self.mark_modified()
        super().clear()

    def pop(self, key: str, *default: Any) -> Any:
        self.mark_accessed()
        if super().__contains__(key):
            self.mark_modified()
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self.mark_modified()
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.mark_accessed()
        if not super().__contains__(key):
            self.mark_modified()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.mark_modified()
        super().update(*args, **kwargs)

    def __ior__(self, other: Any) -> Session:  # type: ignore[override,misc]
        self.mark_modified()
        super().update(other)
        return self


class SessionMiddleware:
    """Give every http request and websocket a session dict, kept in a signed cookie.

    The session is ``request.session`` (``scope["session"]``). It is written back with the
    response only when it changed (compared in its serialized form, so changes to nested lists
    and dicts count), when its signature is older than half of ``max_age`` (so an active user
    is not logged out), or when a key other than the first signed it (to complete a rotation).
    A session emptied by the endpoint clears the cookie; so does a response to a request whose
    cookie was invalid. A tampered, truncated, malformed, expired or oversized cookie, or one
    signed by an unknown key, gives an empty session, never an error. In a websocket the session
    is read-only: a websocket cannot set cookies once connected.

    Values must be JSON types (``str``, ``int``, ``float``, ``bool``, ``None``, lists and dicts
    with string keys). Sessions are signed, not encrypted: users can read them (see the module
    documentation for the threat model).

    Args:
        app: the app to wrap.
        secret_key: the key that signs the cookie (``str``, ``bytes`` or ``Secret``), or a list
            of keys to rotate them: the first signs, every one verifies.
        session_cookie: the cookie name.
        max_age: the session lifetime in seconds, sent as ``Max-Age`` and enforced by the server
            through the signed timestamp. ``None`` makes a browser-session cookie (no
            ``Max-Age``): the browser drops it when it closes, and the server still refuses one
            signed more than 14 days ago. As in Starlette, ``0`` or a negative number is sent as
            it is (``Max-Age=0``): browsers drop the cookie at once, and the server refuses one
            signed more than ``max_age`` seconds ago, so sessions do not last.
        path: the cookie ``Path``.
        same_site: ``"lax"``, ``"strict"`` or ``"none"`` (which needs ``https_only=True``).
        https_only: add ``Secure``: the browser sends the cookie over https only.
        domain: the cookie ``Domain`` (``None``: this host only).
        partitioned: add ``Partitioned`` (CHIPS; needs ``https_only=True``).

    Raises:
        ValueError: an empty or invalid secret key, cookie name or attribute, or an attribute
            combination browsers refuse. At request time, a session too large for a cookie.
        TypeError: a secret key or option of the wrong type.
    """

    def __init__(
        self,
        app: ASGIApp,
        secret_key: SecretKey | Sequence[SecretKey],
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,  # 14 days, in seconds
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        domain: str | None = None,
        *,
        partitioned: bool = False,
    ) -> None:
        self.app = app
        _check_name(session_cookie)
        self.session_cookie = session_cookie
        self.max_age = max_age = _check_max_age(max_age)
        self._keys = [_derive_key(key, session_cookie) for key in _key_list(secret_key)]
        self._lifetime = _BROWSER_SESSION_LIFETIME if max_age is None else max_age
        # With max_age <= 0 (accepted, as Starlette accepts it) the browser drops the cookie at
        # once and the server refuses any cookie older than max_age: refreshing is pointless.
        self._refresh_after = self._lifetime // 2 if self._lifetime > 0 else sys.maxsize
        lifetime = None if max_age is None else f"Max-Age={max_age}"
        self._attributes = _attributes(
            session_cookie, lifetime, path, same_site, https_only, domain, partitioned
        )
        # PERF: the clearing header is the same for every response: built and validated once.
        expired = _attributes(
            session_cookie, _EXPIRED, path, same_site, https_only, domain, partitioned
        )
        self._clear_header = encode_header_value(f"{session_cookie}={expired}", "set-cookie")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        raw = HTTPConnection(scope).cookies.get(self.session_cookie)
        data, original, signed_at = self._load(raw)
        session = Session(data)
        # SPEC: middleware copy the scope before changing it.
        scope = {**scope, "session": session}
        if scope_type == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A response that read the session depends on the cookie: shared caches must
                # not give it to another client (read before _header, which reads it too).
                accessed = session.accessed
                header = self._header(session, original, signed_at, bool(raw))
                added = [(b"set-cookie", header)] if header is not None else []
                if accessed or added:
                    added.append((b"vary", b"Cookie"))
                    # A new list: a Response sends its own ``raw_headers``, which must not grow.
                    message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _load(self, raw: str | None) -> tuple[dict[str, Any], str | None, int]:
        """Return the session in ``raw``, its JSON text and when it was signed; or an empty one."""
        empty: tuple[dict[str, Any], str | None, int] = ({}, None, 0)
        # SECURITY: bounded before any work, and only ASCII can be a cookie we wrote.
        if not raw or len(raw) > _MAX_COOKIE_SIZE or not raw.isascii():
            return empty
        value = raw.encode("ascii")
        signed, _, signature = value.rpartition(b".")
        key_index = self._verify(signed, signature)
        if key_index < 0:
            return empty
        # Everything below was signed by one of our keys, so it has the shape we wrote; the
        # checks stay for a key shared with a different writer.
        payload, _, stamp = signed.partition(b".")
        if not stamp.isdigit() or len(stamp) > 12:
            return empty
        signed_at = int(stamp)
        age = _now() - signed_at
        if age > self._lifetime or age < -_CLOCK_SKEW:
            return empty
        try:
            text = _b64decode(payload).decode("utf-8")
            session = json.loads(text)
        except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError included
            return empty
        if not isinstance(session, dict):
            return empty
        # A cookie signed by an older key reads as due for a refresh, so the next response
        # re-signs it with the current key and a rotation completes as clients come back.
        return session, text, signed_at if key_index == 0 else 0

    def _verify(self, signed: bytes, signature: bytes) -> int:
        """Return the index of the key that signed ``signed``, or -1 if none did."""
        found = -1
        for index, key in enumerate(self._keys):
            expected = _b64encode(hmac.new(key, signed, hashlib.sha256).digest())
            # SECURITY: compare_digest, so the time taken does not tell how many bytes matched.
            if hmac.compare_digest(expected, signature) and found < 0:
                found = index
        return found

    def _header(
        self, session: dict[str, Any], original: str | None, signed_at: int, had_cookie: bool
    ) -> bytes | None:
        """The ``set-cookie`` value this response needs, or ``None`` to leave the cookie alone."""
        if not session:
            return self._clear_header if had_cookie else None
        text = _dumps(session)
        now = _now()
        if text == original and now - signed_at < self._refresh_after:
            return None
        return self._sign(text, now)

    def _sign(self, text: str, now: int) -> bytes:
        """Return the ``set-cookie`` value holding the session ``text``, signed at ``now``."""
        signed = _b64encode(text.encode("utf-8")) + b".%d" % now
        signature = _b64encode(hmac.new(self._keys[0], signed, hashlib.sha256).digest())
        value = b"%s=%s.%s%s" % (
            self.session_cookie.encode("ascii"),
            signed,
            signature,
            self._attributes.encode("latin-1"),
        )
        if len(value) > _MAX_COOKIE_SIZE:
            raise ValueError(
                f"The session cookie {self.session_cookie!r} would be {len(value)} bytes with its "
                f"attributes, over the {_MAX_COOKIE_SIZE} bytes browsers keep (RFC 6265 section "
                "6.1): they would drop it and the session would be lost. Keep less in the "
                "session: store an id in it and the data on the server (a database or a cache)."
            )
        return value


def _dumps(session: dict[str, Any]) -> str:
    try:
        return json.dumps(session, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The session holds a value JSON cannot encode ({exc}). Store only str, int, float "
            "(not NaN or infinity), bool, None, and lists and dicts of them with str keys; "
            "convert others first, e.g. a datetime with .isoformat()."
        ) from exc


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(data: bytes) -> bytes:
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


def _key_list(secret_key: object) -> list[SecretKey]:
    if isinstance(secret_key, str | bytes | Secret):
        keys: list[object] = [secret_key]
    elif isinstance(secret_key, Sequence):
        keys = list(secret_key)
        if not keys:
            raise ValueError(
                "SessionMiddleware needs at least one secret_key, got an empty list. Pass the "
                "signing key first: secret_key=[new_key, old_key]."
            )
    else:
        raise TypeError(
            "SessionMiddleware secret_key must be a str, bytes or Secret, or a list of them "
            f"(the first signs, all verify), got {type(secret_key).__name__}."
        )
    checked: list[SecretKey] = []
    for key in keys:
        if not isinstance(key, str | bytes | Secret):
            raise TypeError(
                "Each SessionMiddleware secret_key must be a str, bytes or Secret, got "
                f"{type(key).__name__}."
            )
        if not key:
            raise ValueError(
                "SessionMiddleware secret_key must not be empty. Generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))' and keep it out "
                "of the source code (an environment variable, read with Config)."
            )
        checked.append(key)
    return checked


def _derive_key(key: SecretKey, cookie_name: str) -> bytes:
    """The HMAC key for one purpose: an HMAC of the secret over a fixed label and the cookie name."""
    secret = key if isinstance(key, bytes) else str(key).encode("utf-8")
    label = _KEY_LABEL + cookie_name.encode("ascii")
    return hmac.new(secret, label, hashlib.sha256).digest()


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name or not _TOKEN_CHARS.issuperset(name):
        raise ValueError(
            f"Invalid session_cookie {name!r}: a cookie name must be a non-empty HTTP token "
            "(letters, digits and !#$%&'*+-.^_`|~), such as 'session'."
        )


def _check_max_age(max_age: object) -> int | None:
    if max_age is None:
        return None
    # A whole float (timedelta(days=1).total_seconds()) is that many seconds; Max-Age must be
    # written as an integer (RFC 6265 section 5.2.2), or browsers ignore it.
    if isinstance(max_age, float) and max_age.is_integer():
        return int(max_age)
    if not isinstance(max_age, int) or isinstance(max_age, bool):
        raise ValueError(
            f"SessionMiddleware max_age must be a whole number of seconds or None (a "
            f"browser-session cookie), got {max_age!r}. For two weeks: max_age=14 * 24 * 60 * 60."
        )
    return max_age


def _attributes(
    name: str,
    lifetime: str | None,
    path: str,
    same_site: str,
    https_only: bool,
    domain: str | None,
    partitioned: bool,
) -> str:
    """Validate the cookie attributes and return them as ``; attr=value`` text, built once.

    Spelled and ordered as Starlette writes them (``; path=/; Max-Age=...; httponly;
    samesite=lax; secure; domain=...; partitioned``), so tests and log scrapers written for
    Starlette's header still match; ``lifetime`` is the text after ``path`` (``Max-Age=60``), or
    None for a browser-session cookie.
    """
    if not isinstance(same_site, str) or same_site.lower() not in _SAME_SITE:
        raise ValueError(
            f"SessionMiddleware same_site must be 'lax', 'strict' or 'none', got {same_site!r}."
        )
    same_site = same_site.lower()
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"SessionMiddleware path must start with '/', got {path!r}.")
    _check_attribute("path", path)
    if domain is not None:
        _check_attribute("domain", domain)
    # Browsers refuse these combinations silently (the session would never stick): say so now.
    if not https_only:
        needs_secure = [
            option
            for option, used in (
                ("same_site='none'", same_site == "none"),
                ("partitioned=True", partitioned),
                (
                    "a '__Secure-' or '__Host-' cookie name",
                    name.startswith(("__Secure-", "__Host-")),
                ),
            )
            if used
        ]
        if needs_secure:
            raise ValueError(
                f"SessionMiddleware with {needs_secure[0]} needs https_only=True: browsers "
                "refuse such a cookie without the Secure attribute."
            )
    if name.startswith("__Host-") and (path != "/" or domain is not None):
        raise ValueError(
            f"The session cookie {name!r} needs path='/' and domain=None: browsers refuse "
            "'__Host-' cookies with another path or a domain."
        )
    parts = [f"path={path}"]
    if lifetime is not None:
        parts.append(lifetime)
    parts.append("httponly")
    parts.append(f"samesite={same_site}")
    if https_only:
        parts.append("secure")
    if domain is not None:
        parts.append(f"domain={domain}")
    if partitioned:
        parts.append("partitioned")
    return "".join(f"; {part}" for part in parts)


def _check_attribute(option: str, value: object) -> None:
    # SECURITY: ';' would end the attribute and start one of the caller's choosing; control
    # characters could split the header.
    if (
        not isinstance(value, str)
        or not value
        or ";" in value
        or not value.isascii()
        or not value.isprintable()
    ):
        raise ValueError(
            f"SessionMiddleware {option} must be printable ASCII without ';', got {value!r}."
        )
