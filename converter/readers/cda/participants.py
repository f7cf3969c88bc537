"""People, organisations and devices that act in a document: author, performer, custodian...
-> Practitioner, PractitionerRole, Organization, Device (one resource per business id)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from ...fhir.ids import ref
from .datatypes import addresses, concept, date_time, identifiers, names, telecoms
from .context import resource_id
from .nodes import Element, child, children, text

if TYPE_CHECKING:
    from .context import Context


def _key(ids: list[dict], fallback: object) -> tuple:
    for i in ids:
        if i.get("value"):
            return (i.get("system", ""), i["value"])
    return ("", repr(fallback))


def organization(el: Element | None, ctx: Context) -> dict | None:
    """An organisation element (representedOrganization, custodian's...) -> Organization."""
    if el is None or el.get("nullFlavor"):
        return None
    ids = identifiers(el)
    label = text(child(el, "name"))
    if not ids and not label:
        return None
    rid = resource_id("Organization", *_key(ids, label))
    # the same organisation again: ctx.add merges what this mention adds (telecom, address...)
    return ctx.add({
        "resourceType": "Organization",
        "id": rid,
        "identifier": ids, "name": label,
        "telecom": [_no_home(t) for t in telecoms(el)],
        "address": [_no_home(a) for a in addresses(el, ctx)],
    })


def _no_home(point: dict) -> dict:
    """An organisation has no home (FHIR org-3, org-2): such a `use` is dropped."""
    if point.get("use") == "home":
        point = {k: v for k, v in point.items() if k != "use"}
    return point


def practitioner(assigned: Element | None, ctx: Context, person: str = "assignedPerson"
                 ) -> dict | None:
    """assignedAuthor / assignedEntity with a person -> Practitioner."""
    if assigned is None:
        return None
    ids = identifiers(assigned)
    who = names(child(assigned, person))
    if not ids and not who:
        return None
    rid = resource_id("Practitioner", *_key(ids, who))
    # the same person again (every entry names its author): ctx.add merges what this mention adds
    return ctx.add({
        "resourceType": "Practitioner",
        "id": rid,
        "identifier": ids, "name": who,
        "telecom": telecoms(assigned), "address": addresses(assigned, ctx),
    })


def device(assigned: Element, ctx: Context) -> dict | None:
    """assignedAuthor/assignedAuthoringDevice -> Device (model and software names)."""
    dev = child(assigned, "assignedAuthoringDevice")
    if dev is None:
        return None
    model = text(child(dev, "manufacturerModelName"))
    software = text(child(dev, "softwareName"))
    ids = identifiers(assigned)
    if not (ids or model or software):
        return None
    device_names = []
    if model:
        device_names.append({"name": model, "type": "model-name"})
    if software:
        device_names.append({"name": software, "type": "other"})
    return ctx.add({
        "resourceType": "Device",
        "id": resource_id("Device", *_key(ids, (model, software))),
        "identifier": ids, "deviceName": device_names,
        "type": concept(child(dev, "code"), ctx),
    })


def role(assigned: Element, who: dict | None, org: dict | None, ctx: Context) -> dict | None:
    """A PractitionerRole tying a practitioner to an organisation and a role code."""
    code = concept(child(assigned, "code"), ctx)
    if who is None or (org is None and code is None):
        return None
    return ctx.add({
        "resourceType": "PractitionerRole",
        "id": resource_id("PractitionerRole", who["id"], org["id"] if org else "",
                          repr(code)),
        "practitioner": ref(who),
        "organization": ref(org) if org else None,
        "code": [code] if code else [],
        "telecom": telecoms(assigned),
    })


def actor(assigned: Element | None, ctx: Context, with_role: bool = False) -> dict | None:
    """The resource acting for an assignedAuthor/assignedEntity: person, else device, else org."""
    if assigned is None:
        return None
    # The same author block is repeated in entry after entry. Once one has been read without an
    # issue, its resources are in the document and reading it again would only merge them into
    # themselves: an identical block (same XML) is looked up instead.
    key = (with_role, etree.tostring(assigned, with_tail=False))
    if key in ctx.actors:
        return ctx.actors[key]
    issues, untimed = len(ctx.fragment.issues), len(ctx.untimed)
    org = organization(child(assigned, "representedOrganization"), ctx)
    who = practitioner(assigned, ctx)
    if who is not None:
        if with_role:
            role(assigned, who, org, ctx)
        res = who
    else:
        res = device(assigned, ctx) or org
    if len(ctx.fragment.issues) == issues and len(ctx.untimed) == untimed:
        ctx.actors[key] = res
    return res


def actor_ref(assigned: Element | None, ctx: Context) -> dict | None:
    """A Reference to `actor(assigned)`, or None."""
    res = actor(assigned, ctx)
    return ref(res) if res else None


def authorship(el: Element, ctx: Context) -> tuple[str | None, dict | None]:
    """(earliest author time, Reference to the latest author) of a clinical statement."""
    timed = []
    for n, author in enumerate(children(el, "author")):
        when = date_time(child(author, "time"), ctx)
        timed.append((when or "", n, author))
    if not timed:
        return None, None
    times = sorted(t for t, _, _ in timed if t)
    latest = max(timed, key=lambda x: (x[0], x[1]))[2]
    return (times[0] if times else None), actor_ref(child(latest, "assignedAuthor"), ctx)


def performers(el: Element, ctx: Context) -> list[dict]:
    """References to the performers of a clinical statement."""
    out = []
    for p in children(el, "performer"):
        r = actor_ref(child(p, "assignedEntity"), ctx)
        if r and r not in out:
            out.append(r)
    return out
