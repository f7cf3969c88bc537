"""One CDA document -> one Fragment: parse, header, body (structured or not), Provenance."""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Any

from ...fhir.ids import ref
from ...fragment import Fragment
from ...issues import Issue, Location
from ...sources import Source
from ...vocabulary import table
from . import header
from .context import Context
from .datatypes import concept, date_time, identifier, instant
from .context import resource_id
from .nodes import Element, child, indexed, path, templates, text
from .notes import CATEGORY, narratives
from .parse import parse
from .sections import SectionInfo, read_body

PROVENANCE_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


@dataclass
class DocumentInfo:
    """What the Composition (issue 5) needs besides the resources: type, title, date, sections."""

    kind: str
    code: dict | None
    title: str | None
    date: str | None
    identifier: dict | None
    confidentiality: str | None
    language: str | None
    patient: str | None
    authors: list[str] = field(default_factory=list)
    custodian: str | None = None
    encounter: str | None = None
    sections: list[SectionInfo] = field(default_factory=list)


def document_kind(root: Element) -> str:
    """The C-CDA document type from templateId (most specific first), else from the LOINC code."""
    known = table("cda/document-types.csv", "root")
    kinds = [known[r]["kind"] for r in templates(root) if r in known]
    specific = [k for k in kinds if k not in ("us-realm-header", "cda-general-header")]
    if specific:
        return specific[0]
    code = child(root, "code")
    if code is not None:
        for row in known.values():
            if row["loinc"] and row["loinc"] == code.get("code"):
                return row["kind"]
    return kinds[0] if kinds else "cda"


def read_document(source: Source, keep_source: bool = False) -> tuple[Fragment, DocumentInfo | None]:
    """Convert one CDA source; bad input gives a Fragment with issues (unusable when fatal)."""
    with indexed():  # look-ups on the tree made once per element (nodes.per_document)
        return _read_document(source, keep_source)


def _read_document(source: Source, keep_source: bool) -> tuple[Fragment, DocumentInfo | None]:
    frag = Fragment(source=source.name, format="cda")
    try:
        data = source.read()
    except OSError as exc:
        frag.issues.append(Issue("fatal", "unreadable", f"cannot read the file: {exc}",
                                 Location(source=source.name)))
        frag.unusable = True
        return frag, None
    root, issues = parse(data, source.name)
    frag.issues.extend(issues)
    if root is None:
        frag.unusable = True
        return frag, None
    ctx = Context(source.name, root, frag)
    doc_id = child(root, "id")
    ctx.doc_key = (f"{doc_id.get('root')}|{doc_id.get('extension') or ''}"
                   if doc_id is not None and doc_id.get("root") else
                   "sha256:" + hashlib.sha256(data).hexdigest())
    frag.kind = document_kind(root)
    with indexed():  # the header's look-ups, dropped once it is read (as each entry's are)
        patient = header.patient(root, ctx)
        if patient is None:
            ctx.issue("fatal", "missing-field",
                      "the document has no recordTarget/patientRole: there is no patient to "
                      "attach its content to, so nothing is converted", root)
            frag.unusable = True
            return frag, None
        ctx.patient = ctx.add(patient)
        roles = header.participants(root, ctx)
        enc = header.encounter(root, ctx)
    sections: list[SectionInfo] = []
    if path(root, "component", "structuredBody") is not None:
        sections = read_body(root, ctx)
    elif path(root, "component", "nonXMLBody") is not None:
        _unstructured(path(root, "component", "nonXMLBody"), root, ctx)
    else:
        ctx.issue("warning", "missing-field", "the document has no body", root)
    narratives(sections, text(child(root, "title")), date_time(child(root, "effectiveTime"), ctx),
               ctx)
    if keep_source:
        _original(data, root, ctx)
    _report_untimed(ctx)
    _provenance(root, ctx, roles)
    info = DocumentInfo(
        kind=frag.kind, code=concept(child(root, "code"), ctx), title=text(child(root, "title")),
        date=date_time(child(root, "effectiveTime"), ctx), identifier=identifier(doc_id),
        confidentiality=(child(root, "confidentialityCode").get("code")
                         if child(root, "confidentialityCode") is not None else None),
        language=(child(root, "languageCode").get("code")
                  if child(root, "languageCode") is not None else None),
        patient=patient["id"], authors=[a["id"] for a in roles["author"]],
        custodian=roles["custodian"][0]["id"] if roles["custodian"] else None,
        encounter=enc["id"] if enc else None, sections=sections)
    return frag, info


def _unstructured(body: Element, root: Element, ctx: Context) -> None:
    """nonXMLBody -> DocumentReference with the embedded (base64) or referenced content."""
    t = child(body, "text")
    attachment: dict[str, Any] = {"contentType": (t.get("mediaType") if t is not None else None)
                                  or "text/plain",
                                  "title": text(child(root, "title"))}
    reference = child(t, "reference") if t is not None else None
    if reference is not None and reference.get("value"):
        attachment["url"] = reference.get("value")
    elif t is not None and t.get("representation") == "B64":
        payload = "".join((t.text or "").split())
        try:
            base64.b64decode(payload, validate=True)
            attachment["data"] = payload
        except (binascii.Error, ValueError):
            ctx.issue("error", "invalid-value", "nonXMLBody text is not valid base64", t)
    elif t is not None and (t.text or "").strip():
        attachment["data"] = base64.b64encode(t.text.encode("utf-8")).decode("ascii")
    else:
        ctx.issue("warning", "missing-field", "nonXMLBody without content", body)
    ctx.add({
        "resourceType": "DocumentReference",
        "id": resource_id("DocumentReference", ctx.doc_key, "nonXMLBody"),
        "identifier": [i for i in [identifier(child(root, "id"))] if i],
        "status": "current",
        "type": concept(child(root, "code"), ctx),
        "category": [CATEGORY],
        "subject": ctx.subject(),
        "date": instant(child(root, "effectiveTime"), ctx),
        "description": text(child(root, "title")),
        "content": [{"attachment": attachment}],
    })


def _original(data: bytes, root: Element, ctx: Context) -> None:
    """--keep-source: the document itself as a DocumentReference (base64 attachment)."""
    ctx.add({
        "resourceType": "DocumentReference",
        "id": resource_id("DocumentReference", ctx.doc_key, "source"),
        "masterIdentifier": identifier(child(root, "id")),
        "status": "current",
        "type": concept(child(root, "code"), ctx),
        "subject": ctx.subject(),
        "date": instant(child(root, "effectiveTime"), ctx),
        "description": "original CDA document",
        "content": [{"attachment": {"contentType": "application/xml",
                                    "data": base64.b64encode(data).decode("ascii"),
                                    "title": text(child(root, "title"))},
                     "format": {"system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
                                "code": "urn:hl7-org:sdwg:ccda-structuredBody:2.1"}}],
    })


def _report_untimed(ctx: Context) -> None:
    if not ctx.untimed:
        return
    first = ctx.untimed[0]
    ctx.issue("information", "timezone-assumed",
              f"{len(ctx.untimed)} timestamp(s) carry a time but no UTC offset; each was cut to "
              f"its date rather than given an invented time zone (first one here; others at "
              f"{', '.join(ctx.xpath(e) for e in ctx.untimed[1:4]) or 'none'}"
              f"{', ...' if len(ctx.untimed) > 4 else ''})", first)


def _provenance(root: Element, ctx: Context, roles: dict[str, list[dict]]) -> None:
    """A Provenance for the document: every resource as target, the document as source entity."""
    recorded = instant(child(root, "effectiveTime"), ctx)
    if recorded is None:
        ctx.issue("warning", "missing-field",
                  "no Provenance: the document effectiveTime has no time with a UTC offset, and "
                  "Provenance.recorded must be an instant", child(root, "effectiveTime"))
        return
    agents = []
    for slot in ("author", "legal", "verifier", "custodian"):
        for res in roles[slot]:
            agents.append({"type": {"coding": [{"system": PROVENANCE_TYPE, "code": slot}]},
                           "who": ref(res)})
    if not agents:
        agents.append({"who": {"display": "unknown author (none named in the document)"}})
    doc_id = identifier(child(root, "id"))
    ctx.add({
        "resourceType": "Provenance",
        "id": resource_id("Provenance", ctx.doc_key),
        "target": [ref(r) for r in ctx.fragment.resources],
        "recorded": recorded,
        "agent": agents,
        "entity": [{"role": "source", "what": {"identifier": doc_id,
                                                "display": text(child(root, "title"))
                                                or "CDA document"}}],
    })
