"""``check_args``: refuse an args mapping whose keys its args TypedDict does not declare.

Every component and building block calls it first, so a misspelt key (``{"timeout_second": 5}``)
fails when the component is constructed (at preview) with an error that names the key, the
closest valid key and all valid ones, instead of being ignored. It is driven by the TypedDict's
annotations, inherited ones included, and descends into nested args TypedDicts (a step, a route,
a handler's settings), in sequences and in mappings' values. Required keys
(``Required[...]``, or the fields of a ``total=True`` TypedDict) must be present.
"""

import collections.abc
import difflib
import typing
from typing import Any, Mapping, NotRequired, Required, Union, get_args, get_origin, get_type_hints

import pulumi


class ArgsError(TypeError):
    """Args with a key their TypedDict does not declare, or without a required key."""


def check_args(component: str, args: Any, args_type: type) -> None:
    """Raise :class:`ArgsError` if ``args`` (a mapping, or ``None``) has a key ``args_type`` does not declare.

    ``component`` names the offender in the message, e.g. ``"CallbackWorkflow 'orders'"``.
    """
    if args is None:
        args = {}
    _check(component, args, args_type, "args")


def _is_typeddict(value: Any) -> bool:
    return isinstance(value, type) and typing.is_typeddict(value)


def _hints(args_type: type) -> dict[str, Any]:
    try:
        # pulumi.Input[T] holds the forward reference 'Output[T]': resolved among pulumi.output's names.
        return get_type_hints(args_type, localns={**vars(pulumi), **vars(pulumi.output)}, include_extras=True)
    except NameError:  # an annotation that cannot be evaluated: check the keys only
        return {key: Any for key in args_type.__annotations__}


def _check(component: str, args: Any, args_type: type, where: str) -> None:
    if isinstance(args, (pulumi.Output, pulumi.Resource)) or not isinstance(args, Mapping):
        if isinstance(args, pulumi.Output):
            return
        raise ArgsError(f"{component}: {where} must be a mapping of {args_type.__name__} keys, got {type(args).__name__}")
    hints = _hints(args_type)
    valid = sorted(hints)
    for key in args:
        if key not in hints:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ArgsError(
                f"{component}: unknown key {key!r} in {where}{hint}; valid keys of {args_type.__name__}: {', '.join(valid)}"
            )
    missing = sorted(k for k in getattr(args_type, "__required_keys__", ()) if k not in args)
    if missing:
        raise ArgsError(f"{component}: {where} lacks the required key(s) {', '.join(map(repr, missing))} of {args_type.__name__}")
    for key, value in args.items():
        _check_value(component, value, hints[key], f"{where}[{key!r}]")


def _unwrap(hint: Any) -> Any:
    """The type inside ``Required``/``NotRequired``/``Optional``/``Input`` (the first TypedDict of a union)."""
    while get_origin(hint) in (Required, NotRequired, typing.Annotated):
        hint = get_args(hint)[0]
    if get_origin(hint) is Union or type(hint).__name__ == "UnionType":
        for member in get_args(hint):
            inner = _unwrap(member)
            if _is_typeddict(inner) or get_origin(inner) in _CONTAINERS:
                return inner
        return Any
    return hint


_SEQUENCES = (list, collections.abc.Sequence)
_MAPPINGS = (dict, collections.abc.Mapping)
_CONTAINERS = _SEQUENCES + _MAPPINGS


def _check_value(component: str, value: Any, hint: Any, where: str) -> None:
    if value is None or isinstance(value, pulumi.Output):
        return
    hint = _unwrap(hint)
    if _is_typeddict(hint):
        _check(component, value, hint, where)
        return
    origin, params = get_origin(hint), get_args(hint)
    if origin in _SEQUENCES and params and isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_value(component, item, params[0], f"{where}[{index}]")
    elif origin in _MAPPINGS and len(params) == 2 and isinstance(value, Mapping):
        for name, item in value.items():
            _check_value(component, item, params[1], f"{where}[{name!r}]")
