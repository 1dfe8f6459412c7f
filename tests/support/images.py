"""What the fixture monorepos' services need to run their tests inside their images.

`RUNNER` runs a tests folder without pytest (the base image has none): unittest cases and
plain `test_*` functions of its `test_*.py` modules, JUnit XML to $JUNIT_XML. A service's
Dockerfile has a `unit` target whose CMD runs `.../tests/unit/run.py`; the integration stage
and verification swap `unit` for their folder, so every tests folder carries a copy.
"""

from __future__ import annotations

RUNNER = '''\
"""Run this folder's tests without pytest; JUnit XML to $JUNIT_XML."""
import importlib, inspect, os, sys, unittest
from xml.sax.saxutils import quoteattr

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
suite = unittest.TestSuite()
for name in sorted(os.listdir(here)):
    if name.startswith("test_") and name.endswith(".py"):
        module = importlib.import_module(name[:-3])
        suite.addTests(unittest.defaultTestLoader.loadTestsFromModule(module))
        for attr, value in sorted(vars(module).items()):
            if attr.startswith("test_") and inspect.isfunction(value):
                suite.addTest(unittest.FunctionTestCase(value, description=f"{name}::{attr}"))
result = unittest.TextTestRunner(verbosity=2).run(suite)
if os.environ.get("JUNIT_XML"):
    with open(os.environ["JUNIT_XML"], "w") as out:
        out.write(f'<testsuite name="{os.path.basename(here)}" tests="{result.testsRun}" '
                  f'failures="{len(result.failures)}" errors="{len(result.errors)}" skipped="0">')
        for test, _trace in result.failures + result.errors:
            out.write(f'<testcase name={quoteattr(str(test))}><failure message="failed"/>'
                      '</testcase>')
        out.write("</testsuite>")
sys.exit(0 if result.wasSuccessful() and result.testsRun else 1)
'''


def runner_files(service: str, *folders: str) -> dict[str, str]:
    """A copy of the runner in each tests folder of `service` (unit, integration, ...)."""
    return {f"services/{service}/tests/{folder}/run.py": RUNNER for folder in folders}
