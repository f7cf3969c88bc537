"""Observations and DiagnosticReports -> result tables: one per report (panel members and
components under their parent), and one per category for results that came without a report."""
from __future__ import annotations

from .fhirtext import date_text, first, first_code, one_line, period_text, quantity, term
from .records import Reader, is_real, note_texts
from .units import to_si
from .views import Panel, ResultRow, newest_first

LOINC = "http://loinc.org"


class ResultReader(Reader):
    """Reads DiagnosticReports and Observations into result tables (Panels)."""

    def panels(self, reports: list[dict], observations: list[dict]) -> list[Panel]:
        """One Panel per report, per panel Observation (hasMember), and per category of the rest."""
        used: set[int] = set()
        panels = []
        for dr in reports:
            if not is_real(dr):
                continue
            when = first(dr, "effectiveDateTime", "effectivePeriod.start", "issued") or ""
            performer = ", ".join(x for x in (self.refs.label(p) for p in dr.get("performer") or []) if x)
            notes = note_texts(dr)  # R4 has no DiagnosticReport.note: order notes (OBR NTE) are on basedOn
            for order in dr.get("basedOn") or []:
                notes += [n for n in note_texts(self.refs.get(order) or {}) if n not in notes]
            panel = Panel(when, self.mark(when), term(dr.get("code")), "", dr.get("status") or "",
                          performer, one_line(dr.get("conclusion") or ""), notes)
            for ref in dr.get("result") or []:
                obs = self.refs.get(ref)
                if obs is not None:
                    used.add(id(obs))
                    panel.rows.extend(self.result_rows(obs, used))
            panels.append(panel)
        members = {id(m) for obs in observations for m in map(self.refs.get, obs.get("hasMember") or [])
                   if m is not None}
        groups: dict[str, Panel] = {}
        for obs in observations:
            if id(obs) in used or id(obs) in members or not is_real(obs):
                continue
            if obs.get("hasMember"):
                when = obs_date(obs)
                panel = Panel(when, self.mark(when), term(obs.get("code")), "", obs.get("status") or "",
                              notes=note_texts(obs))
                panel.rows = self.result_rows(obs, used)[1:]
                panels.append(panel)
                continue
            group = first_code(next(iter(obs.get("category") or []), None)) or "other"
            panel = groups.get(group)
            if panel is None:
                panel = groups[group] = Panel(group=group)
                panels.append(panel)
            panel.rows.extend(self.result_rows(obs, used))
        for panel in groups.values():
            panel.rows = newest_first(panel.rows)
            panel.date = panel.rows[0].date if panel.rows else ""
            panel.mark = self.mark(panel.date)
        return panels

    def result_rows(self, obs: dict, used: set[int], level: int = 0) -> list[ResultRow]:
        """The row of an Observation, then rows for its components and panel members."""
        rows = [self.result_row(obs, level)]
        for comp in obs.get("component") or []:
            if isinstance(comp, dict):
                rows.append(self.result_row(comp, level + 1, parent=obs))
        for ref in obs.get("hasMember") or []:
            member = self.refs.get(ref)
            if member is not None and id(member) not in used and level < 3:
                used.add(id(member))
                rows.extend(self.result_rows(member, used, level + 1))
        return rows

    def result_row(self, obs: dict, level: int, parent: dict | None = None) -> ResultRow:
        when = obs_date(parent or obs)
        value, unit = _value(obs)
        loincs = {c.get("code") for c in (obs.get("code") or {}).get("coding") or []
                  if isinstance(c, dict) and c.get("system") == LOINC and c.get("code")}
        ranges = obs.get("referenceRange") or []
        flags = [c.get("code") for i in obs.get("interpretation") or [] if isinstance(i, dict)
                 for c in i.get("coding") or [] if isinstance(c, dict) and c.get("code")]
        if not flags:
            flags = [one_line(i["text"]) for i in obs.get("interpretation") or []
                     if isinstance(i, dict) and i.get("text")]
        return ResultRow(when, self.mark(when), term(obs.get("code")), value, unit,
                         _range_text(ranges), flags, to_si(loincs, obs.get("valueQuantity"), ranges),
                         (parent or obs).get("status") or "", note_texts(obs), level)


def obs_date(obs: dict) -> str:
    return first(obs, "effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued") or ""


def _value(obs: dict) -> tuple[str, str]:
    """The value of an Observation (or component) and its unit, as the source gave them."""
    if "valueQuantity" in obs:
        return quantity(obs["valueQuantity"])
    if "valueCodeableConcept" in obs:
        return term(obs["valueCodeableConcept"]).text, ""
    if "valueString" in obs:
        return one_line(obs["valueString"]), ""
    if "valueBoolean" in obs:
        return ("true" if obs["valueBoolean"] else "false"), ""
    if "valueInteger" in obs:
        return str(obs["valueInteger"]), ""
    if "valueRange" in obs:
        low, lu = quantity(obs["valueRange"].get("low"))
        high, hu = quantity(obs["valueRange"].get("high"))
        return f"{low}–{high}", lu or hu
    if "valueRatio" in obs:
        n, nu = quantity(obs["valueRatio"].get("numerator"))
        d, du = quantity(obs["valueRatio"].get("denominator"))
        return f"{n}{(' ' + nu) if nu else ''} / {d}{(' ' + du) if du else ''}", ""
    for key in ("valueDateTime", "valueTime"):
        if key in obs:
            return date_text(obs[key], with_time=True), ""
    if "valuePeriod" in obs:
        return period_text(obs["valuePeriod"]), ""
    if "dataAbsentReason" in obs:
        return f"({term(obs['dataAbsentReason']).text})", ""
    return "", ""


def _range_text(ranges: list) -> str:
    """The first reference range as text: its own text, else "low – high unit"."""
    for rng in ranges:
        if not isinstance(rng, dict):
            continue
        if rng.get("text"):
            return one_line(rng["text"])
        low, lu = quantity(rng.get("low"))
        high, hu = quantity(rng.get("high"))
        unit = lu or hu
        if low and high:
            return f"{low}–{high} {unit}".strip()
        if low:
            return f"≥ {low} {unit}".strip()
        if high:
            return f"≤ {high} {unit}".strip()
    return ""

