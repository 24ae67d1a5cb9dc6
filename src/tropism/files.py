"""Reading input files with one clear error (layer 1: imports only ``errors``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import TropismInputError


def read_toml(path: str | Path, what: str = "file") -> dict:
    """Parse a TOML file; a missing file or bad TOML is one TropismInputError naming the file.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is, for the message (``"scenario file"``, ``"library file"``).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise TropismInputError(f"{what} not found", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise TropismInputError(f"not valid TOML: {exc}", file=str(path)) from None
