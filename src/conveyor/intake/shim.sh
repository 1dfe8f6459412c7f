#!/bin/sh
# conveyor-shim: installed by `conveyor hook install`; reinstalling rewrites this file.
# A hook that was here before Conveyor is kept as @HOOK@.local and still runs first.
# python -c (not -m conveyor.intake.hook: runpy's imports cost each push milliseconds); -P: the bare
# repository (the working directory) is not on sys.path.
CONVEYOR_HOME=@CONVEYOR_HOME@
export CONVEYOR_HOME
here=$(dirname "$0")
if [ -x "$here/@HOOK@.local" ]; then
    input=$(mktemp) || exit 1
    cat >"$input"
    exec 3<"$input" 4<"$input"
    rm -f "$input"
    "$here/@HOOK@.local" "$@" <&3 3<&- 4<&-
    status=$?
    exec 3<&-
    if [ "@HOOK@" = pre-receive ] && [ "$status" -ne 0 ]; then
        exit "$status"
    fi
    exec @PYTHON@ -P -c 'from conveyor.intake.hook import entry; entry()' @HOOK@ "$@" <&4 4<&-
fi
exec @PYTHON@ -P -c 'from conveyor.intake.hook import entry; entry()' @HOOK@ "$@"
