"""Data quality: the conversion's OperationOutcome (and any in the Bundle) in plain lines."""
from __future__ import annotations

from .fhirtext import first_code, one_line
from .views import Quality, QualityLine

QUALITY_LIST_LIMIT = 40


def quality(bundle: dict, outcome: dict | None, embedded: list[dict]) -> Quality:
    """Data quality: errors and warnings listed one by one; information notes counted by code."""
    q = Quality(tagged=any(isinstance(t, dict) and t.get("code") == "conversion-errors"
                           for t in (bundle.get("meta") or {}).get("tag") or []),
                given=outcome is not None or bool(embedded))
    counts: dict[str, QualityLine] = {}
    for oo in ([outcome] if outcome else []) + embedded:
        for issue in oo.get("issue") or []:
            if not isinstance(issue, dict):
                continue
            severity = issue.get("severity") or "information"
            code = first_code((issue.get("details") or {}), "urn:medbundle:issue-code") \
                or issue.get("code") or ""
            message = one_line((issue.get("details") or {}).get("text") or issue.get("diagnostics") or "")
            where = "; ".join(one_line(x) for x in issue.get("location") or issue.get("expression") or [])
            if not where and (issue.get("details") or {}).get("text"):
                where = one_line(issue.get("diagnostics") or "")
            if severity in ("fatal", "error", "warning"):
                if len(q.problems) < QUALITY_LIST_LIMIT:
                    q.problems.append(QualityLine(severity, code, message, where))
                else:
                    q.hidden += 1
            elif code != "" or message:
                if code == "" and message == "no issues":
                    continue
                line = counts.get(code or message)
                if line is None:
                    counts[code or message] = QualityLine(severity, code, message, where)
                else:
                    line.count += 1
    q.problems.sort(key=lambda x: {"fatal": 0, "error": 1, "warning": 2}.get(x.severity, 3))
    q.notes = list(counts.values())
    return q
