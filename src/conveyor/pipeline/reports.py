"""Stage reports: JUnit XML read and written, JSON reports, logs attached on failure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.util import atomic


@dataclass(frozen=True)
class JUnitSummary:
    tests: int
    failures: int
    errors: int
    skipped: int

    @property
    def ok(self) -> bool:
        return self.tests > 0 and self.failures == 0 and self.errors == 0

    def figures(self) -> dict[str, int]:
        return {"tests": self.tests, "failures": self.failures, "errors": self.errors,
                "skipped": self.skipped}

    def __str__(self) -> str:
        return (f"{self.tests} tests, {self.failures} failures, {self.errors} errors, "
                f"{self.skipped} skipped")


def junit_summary(path: Path) -> JUnitSummary:
    """Totals of a JUnit XML file (a `testsuites` or a single `testsuite` root)."""
    root = ET.parse(path).getroot()  # noqa: S314 - our own tests' output
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.get(key, "0") or 0)
    return JUnitSummary(**totals)


def write_junit(path: Path, suite: str, cases: list[tuple[str, str | None]],
                output: str = "") -> Path:
    """A JUnit XML file of (name, failure message or None) cases; for non-pytest stages."""
    failures = sum(1 for _, failure in cases if failure)
    root = ET.Element("testsuites")
    element = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)),
                            failures=str(failures), errors="0", skipped="0")
    for name, failure in cases:
        case = ET.SubElement(element, "testcase", classname=suite, name=name)
        if failure:
            ET.SubElement(case, "failure", message=failure).text = failure
    if output:
        ET.SubElement(element, "system-out").text = output
    _write(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return path


def write_json(path: Path, data: Any) -> Path:
    _write(path, json.dumps(data, indent=2, sort_keys=True, default=str).encode() + b"\n")
    return path


def write_text(path: Path, text: str) -> Path:
    _write(path, text.encode("utf-8", "replace"))
    return path


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, data)
