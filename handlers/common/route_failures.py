"""An HTTP route's refusal of a failure whose error name the workflow reserves (``common.failures``).

Apart from ``common.failures`` so that the topic and bus handlers, which cannot answer 400, carry no HTTP code.
"""

from __future__ import annotations

from common.failures import describe_reserved, is_reserved, reserved_names
from common.http import bad_request

__all__ = ["refuse_reserved"]


def refuse_reserved(name: str, field: str = "error") -> None:
    """A 400 ``ReservedError`` when ``name`` is reserved (HTTP routes: the caller can pick another)."""
    reserved = reserved_names()
    if is_reserved(name, reserved):
        raise bad_request(
            "ReservedError",
            f"{field!r} may not be {name[:100]!r}: the workflow reserves {describe_reserved(reserved)} "
            "(its own retries, catches and failures)",
        )
