"""Compare medbundle's validator with the official HL7 validator (the oracle), offline.

    mvn -q -f bench/oracle/pom.xml package        # once: fetches the validator from Maven Central
    python bench/oracle/compare.py [--examples] [--out FILE.json]

Inputs: the crafted cases of tests/test_validate_data/crafted.json, medbundle's output over the
shared HL7 v2 corpus, and with --examples the official R4 and IPS examples. The oracle is
org.hl7.fhir.validation's InstanceValidator behind HAPI FHIR's FhirInstanceValidator, fed the R4
core definitions (hapi-fhir-validation-resources-r4), the IPS, HL7 Terminology and extensions
packages from their npm tarballs (`npm pack`, cached), and no terminology server; it runs inside `unshare -n` when available, so it
provably has no network.

Verdicts are compared per input (has errors or not) and per error location: an oracle location
`Bundle.entry[1].resource/*Patient/x*/.birthDate` is read as `Bundle.entry[1].resource.birthDate`,
and an error matches when one location is a prefix of the other (the oracle puts missing elements
on their parent). Prints a summary and every disagreement.
"""
from __future__ import annotations

import argparse
import collections
import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from converter import convert  # noqa: E402
from converter.validate import validate_bundle  # noqa: E402
from converter.writers.json import dumps, loads  # noqa: E402

CACHE = Path.home() / ".cache" / "medbundle" / "npm"
# The IG packages the oracle loads (npm tarballs, fetched with `npm pack` into CACHE when missing):
# IPS, HL7 Terminology, and the extensions pack IPS 2.0.0 names (5.3.0-ballot-tc1).
PACKAGES = {"hl7.fhir.uv.ips": "2.0.0", "hl7.terminology.r4": "7.0.1",
            "hl7.fhir.uv.extensions.r4": "5.3.0-ballot-tc1"}
IPS_BUNDLE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"
_COMMENT = re.compile(r"/\*.*?\*/")


sys.path.insert(0, str(ROOT / "scripts"))
from build_definitions import fetch, tarball  # noqa: E402


def ready() -> bool:
    """The oracle is built and its packages are in the npm cache (nothing to fetch)."""
    return (HERE / "target" / "oracle-1.jar").exists() and shutil.which("java") is not None \
        and all(tarball(n, v, CACHE).exists() for n, v in PACKAGES.items())


def jar_command() -> list[str] | None:
    """The java command line of the oracle, or None when it is not built."""
    jar = HERE / "target" / "oracle-1.jar"
    cp = HERE / "target" / "classpath.txt"
    if not jar.exists() or not cp.exists():
        return None

    cmd = ["java", "-Xss4m", "-cp", f"{jar}:{cp.read_text().strip()}", "medbundle.oracle.Oracle"]
    for name, version in PACKAGES.items():
        cmd += ["--pkg", str(fetch(name, version, CACHE))]
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"],
                                                  capture_output=True).returncode == 0:
        cmd = ["unshare", "-n"] + cmd
    return cmd


def run_oracle(files: list[Path], profile: str | None = None) -> dict[str, list[dict]]:
    """file -> the oracle's issues."""
    cmd = jar_command()
    if cmd is None:
        raise SystemExit("the oracle is not built: mvn -q -f bench/oracle/pom.xml package")
    if profile:
        cmd += ["--profile", profile]
    out = subprocess.run(cmd + [str(f) for f in files], capture_output=True, text=True,
                         check=True).stdout
    results = {}
    for line in out.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            results[row["file"]] = row["issues"]
    return results


def oracle_errors(issues: list[dict]) -> list[tuple[str, str]]:
    return [(_COMMENT.sub("", i["location"] or ""), i["message"]) for i in issues
            if i["severity"] in ("error", "fatal")]


def _matches(a: str, b: str) -> bool:
    return a == b or a.startswith(b) or b.startswith(a)


def inputs(with_examples: bool) -> list[tuple[str, dict, str | None]]:
    """(name, resource, profile) of everything compared."""
    from test_validate_rules import CASES, build_case

    data = loads(gzip.decompress((ROOT / "tests" / "test_validate_data" / "examples.json.gz")
                                 .read_bytes()))
    out = [(f"crafted/{c['name']}", build_case(c, data), c.get("profile")) for c in CASES]
    corpus = ROOT.parent / "shared" / "corpus" / "hl7v2"
    for path in sorted(p for p in corpus.rglob("*") if p.suffix in (".hl7", ".txt")):
        for n, bundle in enumerate(convert(str(path), validate=False).bundles):
            out.append((f"hl7v2/{path.name}#{n}", bundle, None))
    if with_examples:
        for group in ("r4", "ips"):
            for res in data[group]:
                out.append((f"{group}/{res['resourceType']}-{res.get('id')}", res, None))
    return out


def compare(with_examples: bool) -> dict:
    cases = inputs(with_examples)
    tmp = Path(tempfile.mkdtemp(prefix="medbundle-oracle-"))
    files: dict[str, Path] = {}
    for i, (name, res, _profile) in enumerate(cases):
        f = tmp / f"{i:04d}.json"
        f.write_bytes(dumps(res, 0))
        files[name] = f
    plain = [files[n] for n, _, p in cases if p is None]
    profiled = [files[n] for n, _, p in cases if p == "ips"]
    oracle = run_oracle(plain)
    if profiled:
        oracle.update(run_oracle(profiled, IPS_BUNDLE))
    rows = []
    for name, res, profile in cases:
        ours = [(i.location.expression or "", i.code, i.message)
                for i in validate_bundle(res, profile=profile) if i.is_error]
        theirs = oracle_errors(oracle.get(str(files[name]), []))
        only_ours = [o for o in ours if not any(_matches(o[0], t[0]) for t in theirs)]
        only_theirs = [t for t in theirs if not any(_matches(o[0], t[0]) for o in ours)]
        rows.append({"input": name, "ours": len(ours), "oracle": len(theirs),
                     "only_ours": only_ours, "only_oracle": only_theirs})
    shutil.rmtree(tmp, ignore_errors=True)
    return {"rows": rows}


def summarize(result: dict) -> None:
    rows = result["rows"]
    groups = collections.defaultdict(list)
    for r in rows:
        groups[r["input"].split("/")[0]].append(r)
    print("| inputs | n | both error | both clean | only medbundle errs | only oracle errs | "
          "errors matched by location |")
    print("|---|---|---|---|---|---|---|")
    for group, rs in groups.items():
        both = sum(1 for r in rs if r["ours"] and r["oracle"])
        clean = sum(1 for r in rs if not r["ours"] and not r["oracle"])
        mine = sum(1 for r in rs if r["ours"] and not r["oracle"])
        theirs = sum(1 for r in rs if r["oracle"] and not r["ours"])
        total = sum(r["ours"] for r in rs)
        unmatched = sum(len(r["only_ours"]) for r in rs)
        print(f"| {group} | {len(rs)} | {both} | {clean} | {mine} | {theirs} | "
              f"{total - unmatched}/{total} |")
    print()
    by_rule: collections.Counter = collections.Counter()
    for r in rows:
        for loc, code, msg in r["only_ours"]:
            by_rule[("medbundle only", code, _rule(msg))] += 1
        for loc, msg in r["only_oracle"]:
            by_rule[("oracle only", "", _rule(msg))] += 1
    for (side, code, rule), n in by_rule.most_common():
        print(f"{n:5d}  {side:14s} {code:20s} {rule}")


def _rule(message: str) -> str:
    text = re.sub(r"'[^']*'", "'…'", message)
    text = re.sub(r"\d+", "N", text)
    return text[:110]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", action="store_true", help="also the official examples")
    ap.add_argument("--out", type=Path, help="write every row as JSON")
    args = ap.parse_args()
    result = compare(args.examples)
    summarize(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
