"""Argument checks, in one place: each names the parameter, the value received and what was
expected (``"n_trials must be an int >= 0 or None, got n_trials=-1"``).

A failed check raises :class:`~hyperknob.exceptions.InvalidArgumentError`, which is both a
``ValueError`` and a ``TypeError``: a wrong type and a wrong value are the same mistake to a
user, and code catching either keeps working.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, Literal, TypeGuard, TypeVar, overload

from hyperknob.exceptions import InvalidArgumentError

T = TypeVar("T")


def invalid(name: str, value: object, expected: str) -> InvalidArgumentError:
    """Return the error for argument ``name``: it must be ``expected`` but is ``value``."""
    return InvalidArgumentError(f"{name} must be {expected}, got {name}={value!r}")


def is_int(value: object) -> TypeGuard[int]:
    """Return whether ``value`` is an integer (Python's or numpy's), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[float]:
    """Return whether ``value`` is a real number (an int or a float), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@overload
def check_int(name: str, value: Any, *, least: int | None = ..., most: int | None = ...,
              none_ok: Literal[False] = ..., also: str = ...) -> int: ...
@overload
def check_int(name: str, value: Any, *, least: int | None = ..., most: int | None = ...,
              none_ok: bool, also: str = ...) -> int | None: ...
def check_int(name: str, value: Any, *, least: int | None = None, most: int | None = None,
              none_ok: bool = False, also: str = "") -> int | None:
    """Return ``value`` as an int if it is an integer in ``[least, most]`` (or None when
    ``none_ok``); else raise. ``also`` adds an accepted alternative to the message."""
    if value is None and none_ok:
        return None
    if is_int(value) and (least is None or value >= least) and (most is None or value <= most):
        return int(value)
    bounds = [f">= {least}"] if least is not None else []
    bounds += [f"<= {most}"] if most is not None else []
    expected = "an int" + (f" {' and '.join(bounds)}" if bounds else "")
    raise invalid(name, value, expected + (" or None" if none_ok else "") + also)


@overload
def check_number(name: str, value: Any, *, above: float | None = ...,
                 least: float | None = ..., most: float | None = ...,
                 below: float | None = ..., none_ok: Literal[False] = ...,
                 unit: str = ...) -> float: ...
@overload
def check_number(name: str, value: Any, *, above: float | None = ...,
                 least: float | None = ..., most: float | None = ...,
                 below: float | None = ..., none_ok: bool, unit: str = ...) -> float | None: ...
def check_number(name: str, value: Any, *, above: float | None = None,
                 least: float | None = None, most: float | None = None,
                 below: float | None = None, none_ok: bool = False,
                 unit: str = "") -> float | None:
    """Return ``value`` as a float if it is a finite number ``> above``, ``>= least``,
    ``<= most`` and ``< below`` (or None when ``none_ok``); else raise. ``unit`` names what
    it counts (``"seconds"``)."""
    if value is None and none_ok:
        return None
    if is_number(value) and math.isfinite(value) and (above is None or value > above) and (
            least is None or value >= least) and (most is None or value <= most) and (
            below is None or value < below):
        return float(value)
    bounds = [f"> {above:g}"] if above is not None else []
    bounds += [f">= {least:g}"] if least is not None else []
    bounds += [f"<= {most:g}"] if most is not None else []
    bounds += [f"< {below:g}"] if below is not None else []
    what = f"a number of {unit}" if unit else "a finite number"
    expected = what + (f" {' and '.join(bounds)}" if bounds else "")
    raise invalid(name, value, expected + (" or None" if none_ok else ""))


def check_choice(name: str, value: T, choices: Iterable[T]) -> T:
    """Return ``value`` if it is one of ``choices``; else raise, listing them."""
    options = list(choices)
    if any(value == option and type(value) is type(option) for option in options):
        return value
    raise invalid(name, value, f"one of {options}")


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is True or False; else raise."""
    if isinstance(value, bool):
        return value
    raise invalid(name, value, "True or False")
