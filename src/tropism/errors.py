"""The one exception type users see, and the warning category for unsupported input."""

from __future__ import annotations

from typing import Any


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


class UnsupportedElementWarning(UserWarning):
    """A model element that was read but that the solver does not simulate yet."""
