"""A per-thread view of ``os.environ``, so in-process Lambda handlers each see their own environment.

On AWS every function runs in its own sandbox with its own environment variables. Here every
handler runs in this one process, and ``os.environ`` is process-wide: two functions running at the
same time would read (and overwrite) each other's ``STATE_MACHINE_ARN``. :func:`install` replaces
``os.environ`` with :class:`ThreadEnviron`, which answers from the environment pushed for the
current thread (:func:`function_environment`) and from the real process environment otherwise.

Threads a handler starts inherit its environment (and whatever else was registered with
:func:`inherit_in_threads`), as threads of one Lambda sandbox share its process environment.

It must be installed before boto3/botocore create their sessions: botocore keeps a reference to
``os.environ`` when a session is created and reads ``AWS_ENDPOINT_URL``, the region and the
credentials through it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import MutableMapping
from typing import Iterator, Mapping, Optional

#: Variables of the host process a function still sees (what a Lambda sandbox also has, roughly).
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "SSL_CERT_FILE", "PYTHONHASHSEED")

_local = threading.local()


def _stack() -> list[dict[str, str]]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


class ThreadEnviron(MutableMapping):
    """``os.environ`` replacement: the current thread's function environment, else the process's."""

    def __init__(self, real: MutableMapping) -> None:
        self.real = real

    def _current(self) -> Optional[dict[str, str]]:
        stack = _stack()
        return stack[-1] if stack else None

    def __getitem__(self, key: str) -> str:
        current = self._current()
        return (self.real if current is None else current)[key]

    def __setitem__(self, key: str, value: str) -> None:
        current = self._current()
        if current is None:
            self.real[key] = value
        else:
            current[key] = str(value)

    def __delitem__(self, key: str) -> None:
        current = self._current()
        del (self.real if current is None else current)[key]

    def __iter__(self) -> Iterator[str]:
        current = self._current()
        return iter(list(self.real if current is None else current))

    def __len__(self) -> int:
        current = self._current()
        return len(self.real if current is None else current)

    def copy(self) -> dict[str, str]:
        """A plain dict of what the current thread sees (like ``os.environ.copy()``)."""
        return dict(self.items())

    def __repr__(self) -> str:
        return f"ThreadEnviron({'function' if self._current() is not None else 'process'} view)"


#: Thread-local attributes a new thread copies from the thread that starts it: (holder, name).
_inherited: list[tuple[threading.local, str]] = [(_local, "stack")]
_original_start = threading.Thread.start


def inherit_in_threads(holder: threading.local, name: str) -> None:
    """Threads started from now on copy ``holder.<name>`` from the thread that starts them."""
    if (holder, name) not in _inherited:
        _inherited.append((holder, name))


def _start(thread: threading.Thread) -> None:
    values = [(holder, name, getattr(holder, name, None)) for holder, name in _inherited]
    if any(value for _, _, value in values):
        run = thread.run

        def inheriting_run() -> None:
            for holder, name, value in values:
                if value is not None:
                    setattr(holder, name, list(value) if name == "stack" else value)
            run()

        thread.run = inheriting_run  # type: ignore[method-assign]
    _original_start(thread)


def install() -> ThreadEnviron:
    """Replace ``os.environ`` by a :class:`ThreadEnviron` (idempotent); returns it."""
    setattr(threading.Thread, "start", _start)
    if isinstance(os.environ, ThreadEnviron):
        return os.environ
    os.environ = ThreadEnviron(os.environ)  # type: ignore[assignment]
    return os.environ  # type: ignore[return-value]


def uninstall() -> None:
    """Put the real ``os.environ`` back."""
    threading.Thread.start = _original_start  # type: ignore[method-assign]
    if isinstance(os.environ, ThreadEnviron):
        os.environ = os.environ.real  # type: ignore[assignment]


@contextlib.contextmanager
def function_environment(variables: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """Within the block, this thread's ``os.environ`` is ``variables`` plus :data:`PASS_THROUGH` of the host.

    Nested blocks stack; other threads are not affected. Requires :func:`install`.
    """
    if not isinstance(os.environ, ThreadEnviron):
        raise RuntimeError("local.environ.install() must run first")
    real = os.environ.real
    view = {key: real[key] for key in PASS_THROUGH if key in real}
    view.update({key: str(value) for key, value in variables.items()})
    stack = _stack()
    stack.append(view)
    try:
        yield view
    finally:
        stack.pop()
