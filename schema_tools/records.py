"""Frozen dataclasses that are quick to build. The ``__init__`` dataclasses writes for a frozen
class sets each field through ``object.__setattr__``, a slow generic call (12,000 machine
instructions for a 7-field Column, half of them in those calls; a cold ``lint`` builds 15,000
such objects). ``quick_init`` gives the class an ``__init__`` with the same signature that sets
the instance's fields in one step. Everything else stays the dataclass's own: assignment still
raises FrozenInstanceError, and eq, hash, repr, ``replace`` and ``fields`` are unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def quick_init(cls: T) -> T:
    """Replace a frozen dataclass's ``__init__`` (put above ``@dataclass(frozen=True)``). Only for
    plain classes: every field in ``__init__``, no default factory, no ``__post_init__``."""
    params = dataclasses.fields(cls)
    if not vars(cls)["__dataclass_params__"].frozen or hasattr(cls, "__post_init__") or any(
            not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING for f in params):
        raise TypeError(f"quick_init: {cls.__name__} is not a plain frozen dataclass")
    defaults: dict[str, Any] = {f"_default_{f.name}": f.default for f in params if f.default is not dataclasses.MISSING}
    signature = ", ".join(f"{f.name}=_default_{f.name}" if f.default is not dataclasses.MISSING else f.name
                          for f in params)
    values = ", ".join(f"{f.name!r}: {f.name}" for f in params)
    namespace: dict[str, Any] = {"_set": object.__setattr__, **defaults}
    exec(f"def __init__(self, {signature}):\n    _set(self, '__dict__', {{{values}}})\n", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]
    return cls
