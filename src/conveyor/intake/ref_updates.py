"""The `<old> <new> <ref>` lines git gives the hooks, parsed (kept light: pre-receive imports it).

A RefUpdate is an immutable value (old, new, ref), the ref kept as bytes exactly as git gave it.
`Value` is the base of the hooks' other small immutable records (what a frozen dataclass
gives, without importing dataclasses: that import alone costs a push milliseconds).
"""

from __future__ import annotations

from conveyor.errors import Refusal


class Value:
    """Immutable, compared and hashed by value over `__slots__`; subclasses set the fields
    in `__init__` with `object.__setattr__`."""

    __slots__: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (cannot set {name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (cannot delete {name})")

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class RefUpdate(Value):
    __slots__ = ("old", "new", "ref")
    old: str
    new: str
    ref: bytes  # exactly as git gave it

    def __init__(self, old: str, new: str, ref: bytes) -> None:
        object.__setattr__(self, "old", old)
        object.__setattr__(self, "new", new)
        object.__setattr__(self, "ref", ref)

    @property
    def ref_text(self) -> str:
        return self.ref.decode("utf-8", "backslashreplace")


def parse_updates(data: bytes) -> list[RefUpdate]:
    """`<old> SP <new> SP <ref> LF` lines, exactly; the ref is kept as bytes."""
    updates = []
    for line in data.split(b"\n"):
        if not line:
            continue
        old, sep1, rest = line.partition(b" ")
        new, sep2, ref = rest.partition(b" ")
        if not (sep1 and sep2 and ref and _is_oid(old) and _is_oid(new)):
            raise Refusal(f"malformed ref update line: {line!r}")
        updates.append(RefUpdate(old.decode(), new.decode(), ref))
    return updates


def _is_oid(value: bytes) -> bool:
    return len(value) in (40, 64) and all(c in b"0123456789abcdef" for c in value)
