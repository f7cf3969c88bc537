"""Build converter/validate/data/definitions.json.gz from the official FHIR packages on npm.

Reproducible: each package is fetched with `npm pack NAME@VERSION` (pinned below), its sha256 is
recorded in the artifact, and the output is written with sorted keys and a fixed gzip mtime, so the
same packages give the same bytes. Only what the validator needs is kept:

- the element tables (path, cardinality, types, reference targets, bindings, invariant ids) of every
  R4 resource and datatype StructureDefinition (hl7.fhir.r4.examples: the R4 core definitions);
- the invariants (ElementDefinition.constraint: key, severity, human text, FHIRPath);
- the codes of every ValueSet bound `required` or `extensible` that can be enumerated: the official
  R4 expansion (hl7.fhir.r4.expansions) when there is one, else the ValueSet's compose expanded from
  the CodeSystems (R4 core and hl7.terminology.r4);
- the IPS 2.0 profiles (hl7.fhir.uv.ips) and the core vital-signs profile, kept as their differences
  from the core (cardinality, fixed and pattern values, bindings, invariants, slices, profiles);
- OID -> canonical URI for code systems (hl7.terminology.r4 NamingSystems and CodeSystem identifiers);
- the codes of every complete CodeSystem of R4 core and hl7.terminology.r4 (about 25,000 codes);
- UCUM prefixes and unit atoms (@lhncbc/ucum-lhc's ucumDefs, taken from the UCUM essence).

Also writes tests/test_validate_data/examples.json.gz: the official R4 examples of the resource types
medbundle emits and the IPS examples, so the tests never need the network.

    python scripts/build_definitions.py [--cache DIR]
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "converter" / "validate" / "data" / "definitions.json.gz"
EXAMPLES_OUT = ROOT / "tests" / "test_validate_data" / "examples.json.gz"

PACKAGES = {
    "hl7.fhir.r4.examples": "4.0.1",    # the R4 core definitions and examples
    "hl7.fhir.r4.expansions": "4.0.1",  # the official R4 ValueSet expansions
    "hl7.fhir.uv.ips": "2.0.0",         # International Patient Summary STU2
    "hl7.terminology.r4": "7.0.1",      # HL7 Terminology (THO): CodeSystems, NamingSystems
    "@lhncbc/ucum-lhc": "7.1.10",       # UCUM prefixes and atoms (from the UCUM essence)
}

# The resource types medbundle writes (their examples are the no-false-positive test set).
EMITTED = sorted("""Patient RelatedPerson Encounter Observation DiagnosticReport ServiceRequest Specimen
AllergyIntolerance Condition Procedure Immunization MedicationRequest MedicationStatement Medication
Coverage Practitioner PractitionerRole Organization Location Device DeviceUseStatement MessageHeader
Provenance DocumentReference ImagingStudy Composition Appointment FamilyMemberHistory Goal CarePlan
Consent Bundle""".split())

EXTRA_PROFILES = ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]
BEST_PRACTICE = "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice"
FHIRPATH_TYPE = "http://hl7.org/fhirpath/System."
MAX_EXAMPLE = 100_000  # characters of JSON
MAX_CODES = 5000  # larger value sets are not enumerated (none of the required ones is near this)


def tarball(name: str, version: str, cache: Path) -> Path:
    """Where `npm pack name@version` leaves its tarball in the cache."""
    return cache / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def fetch(name: str, version: str, cache: Path) -> Path:
    """The npm tarball of name@version in the cache, fetched with `npm pack` when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    tgz = tarball(name, version, cache)
    if not tgz.exists():
        subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", str(cache)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return tgz


def members(tgz: Path, prefix: str = "package/") -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) of every JSON file directly under `prefix` in an npm tarball."""
    with tarfile.open(tgz, "r:gz") as tar:
        for m in tar:
            if m.isfile() and m.name.startswith(prefix) and m.name.endswith(".json") \
                    and "/" not in m.name[len(prefix):]:
                yield m.name[len(prefix):], tar.extractfile(m).read()


def resources(tgz: Path, prefix: str = "package/") -> Iterator[dict]:
    """Every FHIR resource (JSON with a resourceType) directly under `prefix`."""
    for _name, data in members(tgz, prefix):
        try:
            obj = json.loads(data)
        except ValueError:
            continue
        if isinstance(obj, dict) and "resourceType" in obj:
            yield obj


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- StructureDefinitions -> element tables -------------------------------------------------------

class Constraints:
    """Interns invariants: each distinct (key, severity, human, expression) gets one index."""

    def __init__(self) -> None:
        self.rows: list[list] = []
        self.index: dict[tuple, int] = {}

    def add(self, c: dict) -> int | None:
        expr = c.get("expression")
        if not expr or c["key"] == "ele-1":  # ele-1 (no empty elements) is checked natively
            return None
        best = any(e.get("url") == BEST_PRACTICE and e.get("valueBoolean")
                   for e in c.get("extension", []))
        row = (c["key"], c["severity"], c.get("human", ""), expr, 1 if best else 0)
        if row not in self.index:
            self.index[row] = len(self.rows)
            self.rows.append(list(row) + [parse_tree(expr)])
        return self.index[row]


TEXT_NODES = {"Identifier", "StringLiteral", "NumberLiteral", "BooleanLiteral", "TypeSpecifier",
              "DateTimeLiteral", "TimeLiteral", "QuantityLiteral"}


def parse_tree(expression: str) -> list | None:
    """fhirpathpy's parse tree of an expression, compacted to [type, text, operator, children]:
    the validator compiles it without running the ANTLR parser (about 2 ms per expression)."""
    from fhirpathpy.parser import parse

    def compact(node: dict) -> list:
        op = node.get("terminalNodeText") or []
        return [node["type"], node.get("text", "") if node["type"] in TEXT_NODES else "",
                op[0] if op and node["type"].endswith("Expression") else "",
                [compact(c) for c in node.get("children", [])]]
    try:
        return compact(parse(expression)["children"][0])
    except Exception:  # noqa: BLE001 - an expression fhirpathpy cannot parse is evaluated as such
        return None


def type_codes(e: dict) -> list[str]:
    out = []
    for t in e.get("type", []):
        code = t["code"]
        out.append("string" if code.startswith(FHIRPATH_TYPE) else code)
    return out


def targets(e: dict, profile_types: dict[str, str]) -> list[str] | None:
    """Resource types a Reference/canonical element may point to (None when not a Reference)."""
    found = None
    for t in e.get("type", []):
        if t["code"] != "Reference":
            continue
        found = found if found is not None else []
        for tp in t.get("targetProfile", []) or ["http://hl7.org/fhir/StructureDefinition/Resource"]:
            found.append(profile_types.get(tp.split("|")[0], tp.rsplit("/", 1)[-1]))
    return sorted(set(found)) if found is not None else None


MAX_VALUESET = "http://hl7.org/fhir/StructureDefinition/elementdefinition-maxValueSet"


def binding(e: dict) -> list | None:
    """[strength initial, value set] of a required or extensible binding, [..., max value set]
    when the binding also names a maximum value set (which acts as a required binding)."""
    b = e.get("binding") or {}
    maximum = next((x.get("valueCanonical") for x in b.get("extension", [])
                    if x.get("url") == MAX_VALUESET), None)
    if b.get("strength") in ("required", "extensible") and b.get("valueSet"):
        out = [b["strength"][0], b["valueSet"].split("|")[0]]
    elif maximum:
        out = ["p", b.get("valueSet", "").split("|")[0]]
    else:
        return None
    return out + [maximum.split("|")[0]] if maximum else out


def element_table(sd: dict, constraints: Constraints, profile_types: dict[str, str]) -> list[list]:
    """[relative path, min, max, types, targets, binding, constraint indexes, contentReference]."""
    rows = []
    root = sd["type"]
    for e in sd["snapshot"]["element"]:
        path = e["path"]
        rel = path[len(root) + 1:] if path != root else ""
        cons = sorted(i for i in (constraints.add(c) for c in e.get("constraint", []))
                      if i is not None)
        ref = e.get("contentReference")
        rows.append([rel, e.get("min", 0), e.get("max", "*"), type_codes(e),
                     targets(e, profile_types), binding(e), cons,
                     ref[1 + len(root) + 1:] if ref else None])
    return rows


# --- ValueSets ------------------------------------------------------------------------------------

def flatten(contains: list[dict]) -> Iterator[tuple[str, str]]:
    for c in contains:
        if c.get("code") and not c.get("abstract"):
            yield c.get("system", ""), c["code"]
        yield from flatten(c.get("contains", []))


def cs_codes(cs: dict) -> list[str]:
    def walk(concepts):
        for c in concepts:
            yield c["code"]
            yield from walk(c.get("concept", []))
    return list(walk(cs.get("concept", [])))


def descendants(cs: dict, code: str, include_self: bool) -> list[str] | None:
    def find(concepts):
        for c in concepts:
            if c["code"] == code:
                return c
            hit = find(c.get("concept", []))
            if hit:
                return hit
        return None
    node = find(cs.get("concept", []))
    if node is None:
        return None
    out = [code] if include_self else []
    out += [c for c in cs_codes({"concept": node.get("concept", [])})]
    return out


def expand(url: str, valuesets: dict, expansions: dict, codesystems: dict,
           depth: int = 0) -> set[tuple[str, str]] | None:
    """The (system, code) pairs of a ValueSet, or None when it cannot be enumerated offline."""
    if depth > 5:
        return None
    exp = (expansions.get(url) or {}).get("expansion")
    if exp and exp.get("contains"):
        if exp.get("total", 0) > len(list(flatten(exp["contains"]))) and "offset" not in exp:
            pass  # a truncated expansion: fall back to the compose
        else:
            return set(flatten(exp["contains"]))
    vs = valuesets.get(url) or expansions.get(url)
    if not vs or "compose" not in vs:
        return None
    out: set[tuple[str, str]] = set()
    for inc in vs["compose"].get("include", []):
        part = include(inc, valuesets, expansions, codesystems, depth)
        if part is None:
            return None
        out |= part
    for exc in vs["compose"].get("exclude", []):
        part = include(exc, valuesets, expansions, codesystems, depth)
        if part is None:
            return None
        out -= part
    return out


def include(inc: dict, valuesets, expansions, codesystems, depth) -> set | None:
    system = inc.get("system")
    sets: list[set] = []
    if system:
        if inc.get("concept"):
            sets.append({(system, c["code"]) for c in inc["concept"]})
        else:
            cs = codesystems.get(system)
            if not cs or cs.get("content") not in ("complete", None):
                return None
            codes = cs_codes(cs)
            for f in inc.get("filter", []):
                if f.get("op") in ("is-a", "descendent-of") and f.get("property") == "concept":
                    codes = descendants(cs, f["value"], f["op"] == "is-a")
                    if codes is None:
                        return None
                else:
                    return None
            sets.append({(system, c) for c in codes})
    for ref in inc.get("valueSet", []):
        part = expand(ref.split("|")[0], valuesets, expansions, codesystems, depth + 1)
        if part is None:
            return None
        sets.append(part)
    if not sets:
        return None
    out = sets[0]
    for s in sets[1:]:
        out = out & s
    return out


def whole_systems(vs: dict | None) -> list[str] | None:
    """The code systems a value set includes whole (no concept list, no filter), if that is all it
    does: such a set cannot be enumerated, but a code from another system is not in it."""
    includes = ((vs or {}).get("compose") or {}).get("include") or []
    if not includes or any(i.get("concept") or i.get("filter") or i.get("valueSet")
                           or not i.get("system") for i in includes):
        return None
    return sorted({i["system"] for i in includes})


def compact_codes(pairs: set[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for system, code in sorted(pairs):
        out.setdefault(system, []).append(code)
    return out


# --- Profiles (IPS): what each element adds to the core ------------------------------------------

def base_element(path: str, base_types: dict[str, dict]) -> dict:
    """The core definition of a path, through datatypes (Patient.name.use -> HumanName.use)."""
    head, _, rest = path.partition(".")
    sd = base_types.get(head)
    if sd is None:
        return {}
    by_path = {e["path"]: e for e in sd["snapshot"]["element"]}
    if path in by_path:
        return by_path[path]
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        e = by_path.get(prefix)
        if e is not None:
            types = type_codes(e)
            if len(types) == 1 and types[0] in base_types and types[0] != head:
                return base_element(".".join([types[0]] + parts[cut:]), base_types)
            return {}
    return {}


def profile_table(sd: dict, base_types: dict[str, dict], constraints: Constraints,
                  profile_types: dict[str, str]) -> list[dict]:
    """The elements of a constraining profile that add a rule to the core element of their path."""
    root = sd["type"]
    rows = []
    for e in sd["snapshot"]["element"]:
        b = base_element(e["path"], base_types)
        row: dict[str, Any] = {"id": e["id"][len(root):].lstrip("."), "path": e["path"][len(root):]
                               .lstrip(".")}
        if e.get("min", 0) > b.get("min", 0):
            row["min"] = e["min"]
        if e.get("max") != b.get("max") and e.get("max") is not None:
            row["max"] = e["max"]
        for k, v in e.items():
            if k.startswith(("fixed", "pattern")):
                row[k] = v
        bd, bb = binding(e), binding(b)
        if bd and bd != bb:
            row["binding"] = bd
        base_keys = {c["key"] for c in b.get("constraint", [])}
        cons = [constraints.add(c) for c in e.get("constraint", []) if c["key"] not in base_keys]
        if any(i is not None for i in cons):
            row["constraints"] = sorted(i for i in cons if i is not None)
        profiles = [p.split("|")[0] for t in e.get("type", []) for p in t.get("profile", [])]
        if e["path"].endswith(".resource") and e.get("type"):
            row["types"] = type_codes(e)
            if profiles:
                row["profiles"] = profiles
        tps, btps = targets(e, profile_types), targets(b, profile_types)
        if tps and tps != btps:
            row["targets"] = tps
        types = type_codes(e)
        if e["path"].endswith("[x]") and sorted(types) != sorted(type_codes(b)):
            row["types"] = types
        if "slicing" in e:
            row["slicing"] = {"discriminator": e["slicing"].get("discriminator", []),
                              "rules": e["slicing"].get("rules", "open")}
        if e.get("sliceName"):
            row["sliceName"] = e["sliceName"]
        if len(row) > 2:
            rows.append(row)
    return _drop_inherited(rows)


def _drop_inherited(rows: list[dict]) -> list[dict]:
    """Leave out the rows inside a slice that only repeat the rule of the unsliced element."""
    def rule(row: dict) -> dict:
        return {k: v for k, v in row.items() if k != "id"}
    by_id = {row["id"]: row for row in rows}
    out = []
    for row in rows:
        segments = row["id"].split(".")
        if ":" in row["id"] and ":" not in segments[-1]:
            base_id = ".".join(s.split(":")[0] for s in segments)
            base = by_id.get(base_id)
            if base is not None and rule(base) == rule(row):
                continue
        out.append(row)
    return out


# --- main -----------------------------------------------------------------------------------------

def build(cache: Path) -> tuple[dict, dict]:
    tgz = {name: fetch(name, version, cache) for name, version in PACKAGES.items()}
    core = list(resources(tgz["hl7.fhir.r4.examples"]))
    tho = list(resources(tgz["hl7.terminology.r4"]))
    ips = list(resources(tgz["hl7.fhir.uv.ips"]))
    expansions = {vs["url"]: vs for vs in resources(tgz["hl7.fhir.r4.expansions"])}

    sds = {sd["url"]: sd for sd in core if sd["resourceType"] == "StructureDefinition"}
    base_types = {sd["type"]: sd for sd in sds.values()  # the base definition of each type
                  if sd["url"] == f"http://hl7.org/fhir/StructureDefinition/{sd['type']}"}
    ips_sds = {sd["url"]: sd for sd in ips if sd["resourceType"] == "StructureDefinition"
               and sd.get("kind") == "resource"}
    profile_sds = dict(ips_sds)
    for url in EXTRA_PROFILES:
        profile_sds[url] = sds[url]
    profile_types = {url: sd["type"] for url, sd in {**sds, **profile_sds}.items()}

    constraints = Constraints()
    types = {}
    for name, sd in sorted(base_types.items()):
        if sd["kind"] == "logical":
            continue
        types[name] = {"kind": sd["kind"], "elements": element_table(sd, constraints, profile_types)}
    profiles = {}
    for url, sd in sorted(profile_sds.items()):
        profiles[url] = {"name": sd["name"], "type": sd["type"],
                         "elements": profile_table(sd, base_types, constraints, profile_types)}

    valuesets = {vs["url"]: vs for vs in core + tho + ips if vs["resourceType"] == "ValueSet"}
    codesystems: dict[str, dict] = {}
    for cs in core + tho:  # THO after core: the newer content wins for shared code systems
        if cs["resourceType"] == "CodeSystem":
            codesystems[cs["url"]] = cs
    wanted = set()
    for t in types.values():
        for row in t["elements"]:
            if row[5]:
                wanted.update(row[5][1:])
    for p in profiles.values():
        for row in p["elements"]:
            if "binding" in row:
                wanted.update(row["binding"][1:])
    vs_out, unchecked = {}, []
    for url in sorted(wanted):
        pairs = expand(url, valuesets, expansions, codesystems)
        if pairs is None or not pairs or len(pairs) > MAX_CODES:
            systems = whole_systems(valuesets.get(url) or expansions.get(url))
            if systems:
                vs_out[url] = {"*": systems}  # any code of these systems
            else:
                unchecked.append(url)
            continue
        vs_out[url] = compact_codes(pairs)

    oids: dict[str, str | None] = {}
    for r in core + tho:  # NamingSystems decide: an OID whose preferred URI is urn:oid: maps to none
        if r["resourceType"] == "NamingSystem" and r.get("kind") == "codesystem":
            ids = r.get("uniqueId", [])
            oid = next((u["value"] for u in ids if u["type"] == "oid"), None)
            uri = next((u["value"] for u in ids if u["type"] == "uri" and u.get("preferred")),
                       None) or next((u["value"] for u in ids if u["type"] == "uri"), None)
            if oid:
                oids[oid] = uri if uri and not uri.startswith("urn:oid:") else None
    for r in core + tho:  # then the identifiers CodeSystems declare, where no NamingSystem spoke
        if r["resourceType"] == "CodeSystem" and not r["url"].startswith("urn:"):
            idents = r.get("identifier") or []
            for ident in idents if isinstance(idents, list) else [idents]:
                v = ident.get("value", "")
                if v.startswith("urn:oid:"):
                    oids.setdefault(v[8:], r["url"])
    oids = {k: v for k, v in oids.items() if v}

    # Complete code systems (R4 core and THO): a Coding of one of them must hold one of its codes.
    # A code of either version counts, so that codes THO retired since R4 are not flagged.
    systems: dict[str, dict] = {}
    for cs in core + tho:
        if cs["resourceType"] != "CodeSystem" or cs.get("content") != "complete":
            continue
        codes = cs_codes(cs)
        if not codes:
            continue
        entry = systems.setdefault(cs["url"], {"codes": set(), "ci": 0})
        entry["codes"].update(codes)
        if cs.get("caseSensitive") is False:
            entry["ci"] = 1
    code_systems = {url: {"codes": sorted(e["codes"]), "ci": e["ci"]}
                    for url, e in sorted(systems.items())}

    ucum_defs = json.loads(dict(members(tgz["@lhncbc/ucum-lhc"], "package/data/"))
                           ["ucumDefs.min.json"])
    pcfg = ucum_defs["prefixes"]["config"]
    prefixes = sorted(p[pcfg.index("code_")] for p in ucum_defs["prefixes"]["data"])
    ucfg = ucum_defs["units"]["config"]
    atoms = {}
    for u in ucum_defs["units"]["data"]:
        row = dict(zip([c if isinstance(c, str) else c[0] for c in ucfg], u))
        if row.get("source_") != "UCUM":
            continue
        atoms[row["csCode_"]] = 1 if (row["isMetric_"] or row["isBase_"]) else 0

    definitions = {
        "packages": {name: {"version": v, "sha256": sha256(tgz[name])}
                     for name, v in PACKAGES.items()},
        "emitted": EMITTED,
        "constraints": constraints.rows,
        "types": types,
        "profiles": profiles,
        "valuesets": vs_out,
        "unchecked_valuesets": unchecked,
        "oids": dict(sorted(oids.items())),
        "codesystems": code_systems,
        "ucum": {"prefixes": prefixes, "atoms": dict(sorted(atoms.items()))},
    }
    examples = {  # the big definition Bundles and a 700 KB embedded image are left out
        "r4": sorted((r for r in core if r["resourceType"] in EMITTED
                      and len(json.dumps(r)) <= MAX_EXAMPLE),
                     key=lambda r: (r["resourceType"], r.get("id", ""))),
        "ips": sorted(resources(tgz["hl7.fhir.uv.ips"], "package/example/"),
                      key=lambda r: (r["resourceType"], r.get("id", ""))),
    }
    return definitions, examples


def write_gzip_json(path: Path, obj: Any) -> int:
    """Deterministic gzip JSON (sorted keys, no mtime); returns the size in bytes."""
    raw = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9, filename="") as gz:
        gz.write(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return len(buf.getvalue())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "medbundle" / "npm",
                    help="where the npm tarballs are kept")
    args = ap.parse_args()
    definitions, examples = build(args.cache)
    size = write_gzip_json(OUT, definitions)
    esize = write_gzip_json(EXAMPLES_OUT, examples)
    print(f"{OUT.relative_to(ROOT)}: {size} bytes, {len(definitions['types'])} types, "
          f"{len(definitions['constraints'])} invariants, {len(definitions['valuesets'])} value sets "
          f"({len(definitions['unchecked_valuesets'])} not enumerable), "
          f"{len(definitions['profiles'])} profiles, {len(definitions['oids'])} OIDs, "
          f"{len(definitions['codesystems'])} code systems, "
          f"{len(definitions['ucum']['atoms'])} UCUM atoms")
    print(f"{EXAMPLES_OUT.relative_to(ROOT)}: {esize} bytes, {len(examples['r4'])} R4 examples, "
          f"{len(examples['ips'])} IPS examples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
