"""Each gate as a JUnit test case, so Jenkins' junit step and GitLab's test report show the gates.

A failed blocking gate is a <failure>; a warning is a passing case that says so in <system-out>
(so it does not fail the build on its own); a skipped gate is <skipped>; a run that could not decide
is one <error> case.
"""

from __future__ import annotations

from xml.etree import ElementTree

from gatekeeper.model import Decision, GateStatus
from gatekeeper.outputs.escape import xml_text
from gatekeeper.verdict import Verdict


def _seconds(milliseconds: int) -> str:
    """Milliseconds as seconds with three decimals, exactly (any integer the schema allows; no float overflow)."""
    whole, part = divmod(int(milliseconds), 1000)
    return f"{whole}.{part:03d}"


def render(verdict: Verdict, *, color: bool = False) -> str:
    policy = verdict.policy.name or "gatekeeper"
    gates = verdict.gates
    undecided = verdict.status is Decision.ERROR
    counts = {
        "tests": str(len(gates) + (1 if undecided else 0)),
        "failures": str(sum(1 for gate in gates if gate.status is GateStatus.FAIL)),
        "errors": str(1 if undecided else 0),
        "skipped": str(sum(1 for gate in gates if gate.status is GateStatus.SKIP)),
        "time": _seconds(verdict.duration_ms),
    }
    suites = ElementTree.Element("testsuites", {"name": "gatekeeper", **counts})
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        {"name": xml_text(f"quality gate: {policy}"), **counts, "timestamp": xml_text(verdict.created_at)},
    )
    classname = xml_text(f"gatekeeper.{policy}")
    for gate in gates:
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name=xml_text(gate.id), time="0")
        message = xml_text(gate.message)
        if gate.status is GateStatus.FAIL:
            failure = ElementTree.SubElement(case, "failure", message=message, type="gate")
            criterion = xml_text(gate.criterion)
            failure.text = f"{message}\ncriterion: {criterion}" if criterion else message
        elif gate.status is GateStatus.SKIP:
            ElementTree.SubElement(case, "skipped", message=message)
        else:
            out = ElementTree.SubElement(case, "system-out")
            out.text = f"WARNING: {message}" if gate.status is GateStatus.WARN else message
    if undecided:
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name="inputs", time="0")
        error = ElementTree.SubElement(case, "error", message=xml_text(verdict.reason), type="input")
        error.text = f"the gate could not decide: {xml_text(verdict.reason)}"
    ElementTree.indent(suites)
    body = ElementTree.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
