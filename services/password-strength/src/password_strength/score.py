"""Score passwords from stdin, one per line, as JSON lines:

    python -m password_strength.score --model FILE < passwords.txt

Invalid lines (empty, too long) give {"error": ...} so output stays line-aligned with input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from password_strength import limits, model
from password_strength.estimator import Estimator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m password_strength.score")
    parser.add_argument("--model", type=Path, help=f"model file (default ${model.ENV_MODEL})")
    parser.add_argument("--user-input", action="append", default=[],
                        help="a word the passwords should not be built from (repeatable)")
    args = parser.parse_args(argv)
    try:
        estimator = Estimator(model.load(args.model))
    except model.ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="surrogateescape", closefd=False)
    for line in stdin:
        password = line.rstrip("\r\n")
        try:
            limits.check_password(password)
        except limits.InvalidInput as exc:
            print(json.dumps({"error": str(exc)}), flush=False)
            continue
        e = estimator.evaluate(password, args.user_input)
        print(json.dumps({
            "score": e.score, "log10_guesses": e.log10_guesses,
            "crack_time_display": e.crack_time_display,
            "warning": e.feedback.warning, "suggestions": list(e.feedback.suggestions),
        }))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
