"""The one exception type users see, and the warning category for unsupported input."""

from __future__ import annotations

import difflib
from typing import Any, Iterable


class TropismInputError(ValueError):
    """Bad input: names the file, the field, the value and what is allowed.

    Parameters
    ----------
    message : str
        What is wrong, in plain words.
    file : str, optional
        The file the value came from.
    field : str, optional
        The element, column or option that holds the value (with a line number where known).
    value : Any, optional
        The offending value, as read.
    allowed : str, optional
        What would have been accepted.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        value: Any = None,
        allowed: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.field) if p)
        text = f"{where}: {self.message}" if where else self.message
        if self.value is not None:
            text += f" (got {self.value!r})"
        if self.allowed:
            text += f"; allowed: {self.allowed}"
        return text


class TropismInputErrors(TropismInputError):
    """Several problems of one input found together: each is a :class:`TropismInputError`,
    and the message lists them all, one per line (a file's mistakes come in one report)."""

    def __init__(self, errors: list[TropismInputError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.message, file=first.file, field=first.field, value=first.value, allowed=first.allowed)

    def __str__(self) -> str:
        if len(getattr(self, "errors", ())) < 2:
            return super().__str__()
        return f"{len(self.errors)} problems:\n" + "\n".join(f"  - {TropismInputError.__str__(e)}" for e in self.errors)


def raise_all(errors: list[TropismInputError]) -> None:
    """Raise the errors found, together (nothing when the list is empty)."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise TropismInputErrors(errors)


def did_you_mean(value: Any, names: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for the allowed name nearest ``value``, or ``""`` when none is
    near (difflib's closeness, cut-off 0.6)."""
    near = difflib.get_close_matches(str(value), list(names), n=1)
    return f"did you mean {near[0]!r}?" if near else ""


def allowed_with_hint(value: Any, names: Iterable[str]) -> str:
    """What is allowed, for :class:`TropismInputError`'s ``allowed``: the nearest name first
    (``"did you mean 'x'? a, b, c"``), then every name in the order given."""
    names = list(names)
    hint = did_you_mean(value, names)
    return (hint + " " if hint else "") + ", ".join(names)


class UnsupportedElementWarning(UserWarning):
    """A model element that was read but that the solver does not simulate yet."""
