"""JUnit XML reports (``--junit-xml FILE``), the format every CI server shows as test results.

One ``<testcase>`` per unit a reader acts on: a mutant, or a failing seed (its failure message
is the repro line), with the clean seeds between failures folded into one passing case per
range so that 100,000 clean seeds stay a small file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    name: str
    classname: str
    seconds: float = 0.0
    failure: str = ""
    """Empty when the case passed; else a one-line message."""
    details: str = ""
    """The failure's full text (violations, repro)."""


def write_junit(path: Path, suite: str, cases: Sequence[Case]) -> None:
    failures = sum(bool(c.failure) for c in cases)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures))
    element = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)), failures=str(failures),
                            errors="0", skipped="0", time=f"{sum(c.seconds for c in cases):.3f}")
    for case in cases:
        item = ET.SubElement(element, "testcase", name=case.name, classname=case.classname,
                             time=f"{case.seconds:.3f}")
        if case.failure:
            failure = ET.SubElement(item, "failure", message=case.failure)
            failure.text = case.details
    ET.indent(root)
    path.write_text(ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n", encoding="utf-8")
