"""Files in and out: reading TOML with one clear error, writing a file whole or not at all
(layer 1: imports only ``errors``)."""

from __future__ import annotations

import os
import tomllib
import uuid
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


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all.

    The bytes go to a hidden temporary file in the same folder (so the move cannot cross file
    systems), which is flushed, synced to disk and moved over ``path`` with :func:`os.replace`;
    on any error the temporary file is removed and ``path`` is untouched. A reader sees the
    old file or the new one, never half of one, even after a crash. The file's mode follows
    the umask (``os.open`` with 0o666, not ``mkstemp``'s 0o600).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` as UTF-8, newlines as written (no translation)."""
    atomic_write_bytes(path, text.encode("utf-8"))
