"""Each gate as a JUnit test case, so Jenkins' junit step and GitLab's test report show the gates.

A failed blocking gate is a <failure>; a warning is a passing case that says so in <system-out>
(so it does not fail the build on its own); a skipped gate is <skipped>.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree


def render(verdict: dict[str, Any], *, color: bool = False) -> str:
    policy = verdict["policy"].get("name") or "gatekeeper"
    gates = verdict["gates"]
    failures = sum(1 for gate in gates if gate["status"] == "fail")
    skipped = sum(1 for gate in gates if gate["status"] == "skip")
    errors = 1 if verdict["status"] == "error" else 0
    suites = ElementTree.Element("testsuites", name="gatekeeper")
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name=f"quality gate: {policy}",
        tests=str(len(gates) + errors),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=f"{verdict['duration_ms'] / 1000:.3f}",
        timestamp=verdict["created_at"],
    )
    classname = f"gatekeeper.{policy}"
    for gate in gates:
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name=gate["id"], time="0")
        if gate["status"] == "fail":
            failure = ElementTree.SubElement(case, "failure", message=gate["message"], type="gate")
            failure.text = f"{gate['message']}\ncriterion: {gate['criterion']}"
        elif gate["status"] == "skip":
            ElementTree.SubElement(case, "skipped", message=gate["message"])
        else:
            out = ElementTree.SubElement(case, "system-out")
            prefix = "WARNING: " if gate["status"] == "warn" else ""
            out.text = f"{prefix}{gate['message']}"
    if errors:
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name="inputs", time="0")
        ElementTree.SubElement(case, "error", message=verdict["reason"], type="input")
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
