"""One error family. Each class has one exit code; the CLI boundary (cli.main) prints one line.

| exit | meaning                                   | class / cause                         |
|------|-------------------------------------------|---------------------------------------|
| 0    | done (or nothing to do)                   |                                       |
| 1    | an operation failed (a command, a check)  | ConveyorError                         |
| 2    | refused: bad input or policy said no      | Refusal                               |
| 3    | an unexpected error (a bug): traceback    | any other exception                   |
|      | written to a file, shown with --debug     |                                       |
| 10–13| `conveyor run`: that stage failed         | build 10, unit 11, integration 12,    |
|      |                                           | performance 13                        |
| 20   | `conveyor run`: automatic promotion failed|                                       |
| 64   | usage: the command line is wrong          | UsageError, argparse errors           |
| 75   | transient: try again later                | Retryable                             |
| 78   | the configuration is wrong (file: key)    | ConfigError                           |
| 130  | interrupted (Ctrl-C)                      | KeyboardInterrupt                     |
| 141  | output closed early (`… | head`)          | BrokenPipeError                       |

The dispatcher parks a trigger on a Refusal (terminal) and retries anything else.
"""

from __future__ import annotations

OK, FAILED, REFUSED, INTERNAL = 0, 1, 2, 3
USAGE, TEMPFAIL, CONFIG = 64, 75, 78  # sysexits.h: EX_USAGE, EX_TEMPFAIL, EX_CONFIG
INTERRUPTED, BROKEN_PIPE = 130, 141  # 128 + SIGINT, 128 + SIGPIPE


class ConveyorError(Exception):
    """An operation failed in a way the user can understand; printed without a traceback."""

    exit_code = FAILED


class Refusal(ConveyorError):
    """A terminal decision: bad input, policy said no, credentials revoked. Do not retry."""

    exit_code = REFUSED


class UsageError(Refusal):
    """The command line is wrong: a missing or contradictory option, a wrong place to run."""

    exit_code = USAGE


class ConfigError(Refusal):
    """conveyor.toml or a pipeline file is wrong; the message names the file and the key."""

    exit_code = CONFIG


class Retryable(ConveyorError):
    """A transient failure (connection refused, 5xx, timeout); trying again later may work."""

    exit_code = TEMPFAIL
