"""Guesses to an attack time a person can read (offline attack on a slow hash)."""

from __future__ import annotations

GUESSES_PER_SECOND = 1e4  # zxcvbn's "offline slow hashing" attacker

_UNITS = (
    ("minute", 60.0), ("hour", 3600.0), ("day", 86400.0), ("month", 86400.0 * 31),
    ("year", 86400.0 * 365),
)
_CENTURY = 86400.0 * 365 * 100


def seconds(log10_guesses: float) -> float:
    return float(10.0 ** min(log10_guesses, 300.0)) / GUESSES_PER_SECOND


def display(secs: float) -> str:
    if secs < 1:
        return "less than a second"
    if secs >= _CENTURY:
        return "centuries"
    name, size = "second", 1.0
    for unit, unit_size in _UNITS:
        if secs >= unit_size:
            name, size = unit, unit_size
    count = int(secs // size)
    return f"{count} {name}{'' if count == 1 else 's'}"
