"""Issues -> a FHIR OperationOutcome (the --report file) and a plain-text table for the terminal."""
from __future__ import annotations

from typing import Iterable

from ..issues import SEVERITY_RANK, Issue
from ..vocabulary import table

ISSUE_CODE_SYSTEM = "urn:medbundle:issue-code"


def operation_outcome(issues: Iterable[Issue]) -> dict:
    """An OperationOutcome with one issue per Issue (an `informational` one when there are none)."""
    codes = table("issue-codes.csv")
    out = []
    for i in issues:
        row = codes.get(i.code)
        entry = {
            "severity": i.severity,
            "code": row["issue_type"] if row else "processing",
            "details": {"coding": [{"system": ISSUE_CODE_SYSTEM, "code": i.code}],
                        "text": i.message},
            "diagnostics": str(i.location),
        }
        if i.location.expression:
            entry["expression"] = [i.location.expression]
        else:
            entry["location"] = i.location.as_strings()
        out.append(entry)
    if not out:
        out.append({"severity": "information", "code": "informational",
                    "details": {"text": "no issues"}})
    return {"resourceType": "OperationOutcome", "issue": out}


def sort_issues(issues: Iterable[Issue]) -> list[Issue]:
    """Most severe first, stable within a severity."""
    return sorted(issues, key=lambda i: SEVERITY_RANK[i.severity])
