"""The state a message's mapping shares: fragment, issues, the patient and encounter in force,
and the people and organisations met so far (each created once per message)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...fhir.ids import ref, resource_id
from ...fhir.terminology import BUILT, repair
from ...fragment import Fragment
from ...issues import Issue, Location, Severity
from .datatypes import authority, c, compact, components, cwe, dtm, identifier, identifier_type, \
    key_of
from .message import Message, Rep, Segment


# Resources several segments may name: created once per message, then referenced.
SHARED_TYPES = frozenset({"Organization", "Practitioner", "Location", "Medication"})


@dataclass
class Context:
    """Per-message mapping state."""

    source: str
    message: Message
    fragment: Fragment
    key: str  # the message's identity for fallback ids (sender + MSH-10)
    event: str = ""  # MSH-9 as CODE^TRIGGER
    patient: dict | None = None
    encounter: dict | None = None
    evn: Segment | None = None  # the EVN segment, folded into the message's Provenance
    appointment: dict | None = None  # SIU: the SCH's Appointment, which later segments complete
    segment_of: dict[str, Segment] = field(default_factory=dict)  # resource id -> its segment
    # the segment being mapped: a Practitioner, Organization or Location is the segment's that
    # first names it (add_shared), so that a repair note on it says where it came from
    current: Segment | None = None
    _people: dict[str, dict] = field(default_factory=dict)
    _by_id: dict[str, dict] = field(default_factory=dict)  # the first resource with each id

    def __post_init__(self) -> None:
        BUILT.reset()  # the builders now screen this message's elements (see repair_codes)

    # -- issues -------------------------------------------------------------------------------
    def loc(self, seg: Segment, fld: int | None = None, comp: int | None = None) -> Location:
        f = None
        if fld is not None:
            f = f"{seg.name}-{fld}" + (f".{comp}" if comp else "")
        return Location(source=self.source, line=seg.line, message=self.message.index,
                        segment=seg.name, field=f)

    def issue(self, severity: Severity, code: str, text: str, seg: Segment, fld: int | None = None,
              comp: int | None = None) -> None:
        self.fragment.issues.append(Issue(severity, code, text, self.loc(seg, fld, comp)))

    # -- values -------------------------------------------------------------------------------
    def dt(self, seg: Segment, n: int, comp: int = 1, value: str | None = None) -> str | None:
        """Field n (component `comp`) as a FHIR dateTime, reporting invalid or zone-less times."""
        text = seg.value(n, comp) if value is None else value
        if not text:
            return None

        def cut(original: str) -> None:
            self.issue("information", "timezone-assumed",
                       f"time {original!r} has no UTC offset: kept as the date only", seg, n)

        out = dtm(text, cut)
        if out is None:
            self.issue("warning", "invalid-date", f"not a valid date/time: {text!r}", seg, n)
        return out

    def instant(self, seg: Segment, n: int, comp: int = 1, value: str | None = None
                ) -> str | None:
        """Field n as an instant (time with offset), for elements FHIR types as instant. A time
        without an offset borrows the message's own offset (MSH-7), as STANDARDS.md allows, and
        says so; with none to borrow there is no instant."""
        text = (seg.value(n, comp) if value is None else value).strip()
        if not text:
            return None
        out = dtm(text)
        if out and "T" in out:
            return out
        msh7 = self.message.msh.value(7)
        offset = msh7[-5:] if len(msh7) > 5 and msh7[-5] in "+-" else ""
        if out is None or len(text) < 12 or not offset:
            self.dt(seg, n, comp, value=text)  # reports the invalid value or the cut
            return None
        self.issue("information", "timezone-assumed",
                   f"time {text!r} has no UTC offset: the message's offset {offset} (MSH-7) "
                   "was used, as FHIR needs an instant here", seg, n, comp if comp > 1 else None)
        return dtm(text + offset)

    def code(self, seg: Segment, n: int) -> dict | None:
        """Field n's first repetition as a CodeableConcept (cwe), None when empty."""
        reps = seg.reps(n)  # seg.rep(n) inlined: most coded fields are read here, many empty
        return cwe(reps[0]) if reps else None

    def codes(self, seg: Segment, n: int) -> list[dict]:
        return [x for x in map(cwe, seg.reps(n)) if x]

    # -- resources ----------------------------------------------------------------------------
    def add(self, resource: dict[str, Any], seg: Segment | None = None) -> dict[str, Any]:
        """Add a resource to the fragment without its empty elements, remember which segment
        made it.

        Only the resource's own elements are checked (`compact`): the maps build the elements
        clean (the datatype builders strip text and leave nothing empty, a dict a map composes
        itself is compacted where it is made) and never place one object twice (the code repairs
        change elements in place, and each place must be repaired and reported). A full prune
        here copied every element of every resource, a quarter of the reader's work.
        """
        resource = compact(resource)
        known = self._by_id.get(resource["id"])
        if known is not None and resource["resourceType"] in SHARED_TYPES:
            return known
        if known is not None and seg is not None:
            # Two segments of one message with the same business key (e.g. an OBX repeated with
            # the same set id and code): both kept, the second keyed by its position.
            resource["id"] = resource_id(resource["resourceType"], resource["id"], seg.position)
        self._by_id.setdefault(resource["id"], resource)
        self.fragment.resources.append(resource)
        if seg is not None:
            self.segment_of.setdefault(resource["id"], seg)
        return resource

    def add_shared(self, resource: dict[str, Any]) -> dict[str, Any]:
        """add() for a Practitioner, Organization or Location that its builder made clean (no
        empty element, as compact() would leave it) and that no segment owns: the resource of
        the message with its id, this one unless the message already made one.

        The people, organisations and places of a message are a third of its resources, and
        their builders know which elements they have: compacting them again was wasted work.
        tests/test_hl7v2_clean_build.py checks they come clean."""
        known = self._by_id.get(resource["id"])
        if known is not None:
            return known
        self._by_id[resource["id"]] = resource
        self.fragment.resources.append(resource)
        if self.current is not None:
            self.segment_of.setdefault(resource["id"], self.current)
        return resource

    def resource(self, resource_id_: str) -> dict | None:
        """The resource of this message with that id (the first, if two share it), or None."""
        return self._by_id.get(resource_id_)

    def repair_codes(self) -> None:
        """Codes the terminology check would reject lose only their false claim (see
        fhir/terminology.py); run once the message is mapped, after later segments added to
        earlier resources.

        The walk over every element runs only when a builder marked an element it would change
        (`BUILT`, reset when this Context was made): every Coding, Identifier and Quantity of a
        message is built by a screening builder (fhir/datatypes.screen), so an unmarked message
        has nothing to repair. tests/test_fast_paths.py maps messages both ways.
        """
        if not BUILT.stop():
            return
        for resource in self.fragment.resources:
            notes: list[str] = []
            repair(resource, notes)
            seg = self.segment_of.get(resource["id"])
            for note in notes:
                self.fragment.issues.append(Issue(
                    "warning", "unknown-code", f"{resource['resourceType']}.{note}",
                    self.loc(seg) if seg is not None else Location(
                        source=self.source, message=self.message.index)))

    def subject(self) -> dict | None:
        return ref(self.patient) if self.patient else None

    def context_encounter(self) -> dict | None:
        return ref(self.encounter) if self.encounter else None

    def practitioner(self, rep: Rep) -> dict | None:
        """XCN/CNN -> Practitioner (once per identifier or name in this message) -> Reference."""
        # XCN.1 id, .2 family, .3 given, .4 second given, .5 suffix, .6 prefix, .7 degree,
        # .9 assigning authority (HD), .13 identifier type
        xcn = components(rep, 13)
        ident_value, family, given, second_given, suffix, prefix, degree = xcn[:7]
        if not (ident_value or family or given):
            return None
        if ident_value:
            system, label = authority(rep, 9)
            key = key_of(system, label, ident_value)  # the identifier is built for a new one
        else:
            key = f"name|{family}|{given}|{second_given}"
        found = self._people.get("P" + key)
        if found is None:
            # built clean (add_shared): an identifier when there is a value, a name when it
            # holds more than nothing
            practitioner: dict[str, Any] = {"resourceType": "Practitioner",
                                            "id": resource_id("Practitioner", key)}
            if ident_value:
                practitioner["identifier"] = [
                    identifier(ident_value, system, label, identifier_type(xcn[12]))]
            name = compact({"family": family,
                            "given": [g for g in (given, second_given) if g],
                            "suffix": [s for s in (suffix, degree) if s],
                            "prefix": [prefix] if prefix else None})
            if name:
                practitioner["name"] = [name]
            found = self._people["P" + key] = self.add_shared(practitioner)
        return _reference(found, f"{given} {family}" if given and family else given or family)

    def organization(self, rep: Rep) -> dict | None:
        """XON (or HD) -> Organization (once per identifier or name in this message) -> Reference."""
        name = c(rep, 1)
        id_value = c(rep, 10) or c(rep, 3)
        if not (name or id_value):
            return None
        if id_value:
            system, label = authority(rep, 6)
            key = key_of(system, label, id_value)
        else:
            key = f"name|{name}"
        found = self._people.get("O" + key)
        if found is None:
            # built clean (add_shared)
            organization: dict[str, Any] = {"resourceType": "Organization",
                                            "id": resource_id("Organization", key)}
            if id_value:
                organization["identifier"] = [identifier(id_value, system, label)]
            if name:
                organization["name"] = name
            found = self._people["O" + key] = self.add_shared(organization)
        return _reference(found, name)


def _reference(resource: dict, display: str) -> dict:
    """A Reference with a display when there is one (`display` is already stripped)."""
    reference = {"reference": f"urn:uuid:{resource['id']}"}
    if display:
        reference["display"] = display
    return reference
