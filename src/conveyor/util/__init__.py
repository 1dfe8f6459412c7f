"""Small helpers every layer uses: processes, atomic writes, locks, redaction, crash points."""
