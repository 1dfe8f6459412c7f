"""`conveyor`: parse arguments, dispatch to a command, turn errors into one line and an exit code.

Each command lives in `conveyor.commands.<module>` and exposes `register(subparsers)`, which
sets `func` (taking the parsed arguments, returning an exit code). The work itself is in the
core packages, so tests call those directly. Only the chosen command's module is imported:
the others appear in `--help` by name and summary, so starting the CLI stays cheap.
The exit codes are the table in `conveyor.errors`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from conveyor import __version__, errors
from conveyor.errors import ConveyorError

# name -> (module in conveyor.commands, group, summary). A module may provide several names.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("init", "adopt", "write Conveyor's configuration for an existing monorepo"),
    "check": ("check", "adopt", "validate the configuration against the repository"),
    "plan": ("plan", "adopt", "dry run: the services a push OLD..NEW would build"),
    "hook": ("hook", "adopt", "install the server-side git hooks into a bare repository"),
    "demo": ("demo", "adopt", "the whole flow on this machine, end to end"),
    "triggers": ("triggers", "intake", "pending, delivered and failed pipeline triggers"),
    "dispatch": ("dispatch", "intake", "deliver pending triggers to the executor"),
    "reconcile": ("dispatch", "intake", "queue branch heads a crash kept out of the outbox"),
    "run": ("run", "pipeline", "run a service's pipeline locally, from a committed revision"),
    "stage": ("stage", "pipeline", "run one pipeline stage (what the Jenkinsfile calls)"),
    "evidence": ("evidence", "pipeline", "the stage evidence recorded for an image digest"),
    "base": ("base", "pipeline", "make (or show) the base image from build/base"),
    "registry": ("registry", "pipeline", "start, stop or show the embedded image registry"),
    "promote": ("promote", "promotion", "promote an image digest into an environment"),
    "rollback": ("rollback", "promotion", "go back to the previous good digest and freeze"),
    "unfreeze": ("rollback", "promotion", "allow automatic promotion again after a rollback"),
    "converge": ("converge", "promotion", "bring an environment's containers to its pins"),
    "status": ("status", "operate", "what is pinned and running in each environment"),
    "history": ("history", "operate", "promotions of a service, newest first"),
    "metrics": ("metrics", "operate", "delivery metrics: lead time, build avoidance"),
    "dashboard": ("dashboard", "operate", "serve the status page"),
    "jenkins": ("jenkins", "operate", "Jenkins as the pipeline engine: sync, status"),
    "version": ("version", "operate", "print Conveyor's version"),
}
GROUPS = {"adopt": "set up", "intake": "push intake", "pipeline": "pipeline",
          "promotion": "promotion", "operate": "operate"}


class Parser(argparse.ArgumentParser):
    """argparse with usage errors on their own exit code (64), apart from refusals (2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(errors.USAGE, f"conveyor: {message}\n")


def _epilog() -> str:
    lines = []
    for group, title in GROUPS.items():
        names = [name for name, (_, g, _) in COMMANDS.items() if g == group]
        lines.append(f"{title}:")
        lines.extend(f"  {name:<11} {COMMANDS[name][2]}" for name in names)
    lines.append("\nexit codes: 0 ok, 1 failed, 2 refused, 3 internal error, 64 usage, "
                 "75 try again later, 78 configuration, 130 interrupted")
    return "\n".join(lines)


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; `chosen` names the one command whose module is imported ("*": all)."""
    parser = Parser(
        prog="conveyor", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Push to git; the services you touched are built once, tested for real\n"
        "and promoted by digest through test, staging and production.", epilog=_epilog())
    parser.add_argument("-V", "--version", action="version", version=f"conveyor {__version__}")
    parser.add_argument("--debug", action="store_true", help="log every step (secrets masked) "
                        "and show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                help="one of the commands below; COMMAND --help for its options")
    modules = ({COMMANDS[chosen][0]} if chosen in COMMANDS
               else {module for module, _, _ in COMMANDS.values()} if chosen == "*" else set())
    for module in sorted(modules):
        importlib.import_module(f"conveyor.commands.{module}").register(sub)
    for name in COMMANDS:
        if name not in sub.choices:  # not imported: parsed when chosen; the epilog lists it
            sub.add_parser(name, add_help=False)
    for command in sub.choices.values():  # --debug also after the command's name
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help=argparse.SUPPRESS)
    return parser


def _chosen(argv: Sequence[str]) -> str | None:
    """The command's name: the first word that is not an option (None when there is none)."""
    for word in argv:
        if not word.startswith("-"):
            return word
    return None


def configure_logging(debug: bool) -> None:
    import logging

    from conveyor.util.redact import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for noisy in ("urllib3", "docker"):
        logging.getLogger(noisy).setLevel(logging.INFO if debug else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words
    try:
        args = build_parser(_chosen(words)).parse_args(words)
        configure_logging(args.debug)
        code: int = args.func(args)
        sys.stdout.flush()
        return code
    except ConveyorError as exc:
        from conveyor.util.redact import redact

        if debug:
            _print_traceback()
        print(f"conveyor: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("conveyor: interrupted", file=sys.stderr)
        return errors.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`conveyor plan … | head`): stop quietly; stdout is pointed at
        # /dev/null so that the interpreter's final flush cannot fail again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file (captured): nothing to flush
            pass
        return errors.BROKEN_PIPE
    except SystemExit:
        raise
    except Exception as exc:  # a bug: one line, the traceback in a file (and with --debug)
        return _internal_error(exc, debug)


def _print_traceback() -> None:
    import traceback

    from conveyor.util.redact import redact

    print(redact(traceback.format_exc()), file=sys.stderr, end="")


def _internal_error(exc: Exception, debug: bool) -> int:
    import tempfile
    import traceback

    from conveyor.util.redact import redact

    text = redact(traceback.format_exc())
    if debug:
        print(text, file=sys.stderr, end="")
    try:
        from conveyor import state

        folder = state.subdir("crashes")
        fd, path = tempfile.mkstemp(prefix="crash-", suffix=".log", dir=folder)
        with os.fdopen(fd, "w") as log:
            log.write(f"conveyor {__version__}\nargv: {redact(' '.join(sys.argv))}\n\n{text}")
        where = f"traceback in {path}"
    except OSError:
        where = "run with --debug for the traceback"
    print(f"conveyor: internal error: {redact(type(exc).__name__ + ': ' + str(exc))} ({where})",
          file=sys.stderr)
    return errors.INTERNAL


if __name__ == "__main__":
    sys.exit(main())
