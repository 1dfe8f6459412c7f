"""The one callback type for progress lines (print, a log file, a test's list.append)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]
