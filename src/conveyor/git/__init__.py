"""Git: the hook's fast spawner, plumbing for the rest, tree reads, the central repository."""
