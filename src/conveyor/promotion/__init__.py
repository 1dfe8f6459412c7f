"""Promotion: the rule, pinning overlays, deploying, verifying, history, rollback."""
