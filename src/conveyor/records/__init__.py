"""The records database: every SQL statement about builds, runs, evidence and promotions."""
