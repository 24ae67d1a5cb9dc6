"""A small XML tree with line numbers and "was this element read?" marks.

PhysiCell settings files are read into :class:`Node` trees rather than ``ElementTree``
elements so that every element knows its line (for error messages) and whether a reader
looked at it: whatever no reader marked as used is reported as unsupported instead of being
dropped silently.
"""

from __future__ import annotations

from pathlib import Path
from xml.parsers import expat

from ..errors import TropismInputError


class Node:
    """One XML element: tag, attributes, stripped text, children, line and a ``used`` mark."""

    __slots__ = ("tag", "attrib", "text", "children", "parent", "line", "used", "_parts")

    def __init__(self, tag: str, attrib: dict[str, str], parent: "Node | None", line: int) -> None:
        self.tag = tag
        self.attrib = attrib
        self.text = ""
        self.children: list[Node] = []
        self.parent = parent
        self.line = line
        self.used = False
        self._parts: list[str] = []

    # -- navigation ---------------------------------------------------------------------------
    def child(self, tag: str) -> "Node | None":
        """First child called ``tag`` (or ``None``)."""
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def all(self, tag: str) -> list["Node"]:
        """All children called ``tag``, in document order."""
        return [c for c in self.children if c.tag == tag]

    @property
    def segment(self) -> str:
        """This element's step in a path: its tag, plus ``[name]`` where it has a name."""
        name = self.attrib.get("name")
        return f"{self.tag}[{name}]" if name is not None else self.tag

    @property
    def path(self) -> str:
        """Slash-separated path from (but not including) the root element."""
        parts: list[str] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            parts.append(node.segment)
            node = node.parent
        return "/".join(reversed(parts)) or self.tag

    @property
    def where(self) -> str:
        """Path and line number, for error messages."""
        return f"{self.path} (line {self.line})"

    # -- bookkeeping --------------------------------------------------------------------------
    def mark(self, subtree: bool = False) -> "Node":
        """Mark this element (and with ``subtree`` all below it) as read; returns ``self``."""
        self.used = True
        if subtree:
            for c in self.children:
                c.mark(True)
        return self

    def unused(self) -> list["Node"]:
        """Top-most descendants nobody marked as used (their own descendants are not listed)."""
        out: list[Node] = []
        for c in self.children:
            if not c.used:
                out.append(c)
            else:
                out.extend(c.unused())
        return out


def parse_xml(path: Path) -> Node:
    """Parse an XML file into a :class:`Node` tree.

    Parameters
    ----------
    path : Path
        The file to read.

    Returns
    -------
    Node
        The root element (already marked as used).

    Raises
    ------
    TropismInputError
        If the file cannot be read or is not well-formed XML (with line and column).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TropismInputError(f"cannot read the settings file: {exc.strerror or exc}",
                                file=str(path), value=str(path)) from None
    parser = expat.ParserCreate()
    stack: list[Node] = []
    root: list[Node] = []

    def start(tag: str, attrib: dict[str, str]) -> None:
        parent = stack[-1] if stack else None
        node = Node(tag, dict(attrib), parent, parser.CurrentLineNumber)
        if parent is None:
            root.append(node)
        else:
            parent.children.append(node)
        stack.append(node)

    def end(tag: str) -> None:
        node = stack.pop()
        node.text = "".join(node._parts).strip()
        node._parts = []

    def chars(data: str) -> None:
        if stack:
            stack[-1]._parts.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise TropismInputError(
            f"malformed XML: {expat.errors.messages[exc.code]}",
            file=str(path), field=f"line {exc.lineno}, column {exc.offset + 1}",
            allowed="a well-formed PhysiCell settings XML document",
        ) from None
    return root[0].mark()
