"""The per-task secret handed to the party that must complete a callback task, stored only as its hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

__all__ = ["new_secret", "secret_hash", "secret_matches"]


def new_secret() -> str:
    """A fresh per-task secret (256 random bits, URL-safe text) handed to the party that must complete a task."""
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """The SHA-256 hex digest under which a per-task secret is stored (never the secret itself)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: Any) -> bool:
    """True when ``secret`` hashes to ``stored_hash`` (compared in constant time)."""
    if not isinstance(stored_hash, str) or not stored_hash:
        return False
    return hmac.compare_digest(secret_hash(secret), stored_hash)
