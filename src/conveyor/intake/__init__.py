"""Push intake: the hooks, change detection, the outbox of triggers and their dispatch.

The hooks run inside `git push`, so the modules on their path (hook, ref_updates, changes,
detect, outbox, push_policy, and below them git.spawn, git.trees, config.plan_cache) are
written to import little: no typing, dataclasses, pathlib, subprocess or threading at module
level (each costs a push milliseconds); frozen `Value` records instead of dataclasses, and
imports inside functions for the rare paths. tests/intake/test_import_budget.py guards it.
"""
