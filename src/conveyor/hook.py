"""Shims installed by Conveyor before its package was regrouped run `conveyor.hook.entry`.

`conveyor hook install` writes shims that call `conveyor.intake.hook`; this alias keeps
older installed shims working until they are reinstalled.
"""

from conveyor.intake.hook import entry

__all__ = ["entry"]
