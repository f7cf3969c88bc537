"""Peers benchmark: the Python peers and medbundle over the shared corpus, judged by one validator.

    python bench/peers.py [--tools medbundle,ccda-to-fhir,...] [--families hl7v2,ccda,dicom]
                          [--keep DIR] [--no-doc]

The peers are imported if installed, never installed here. Install them in a virtualenv of their
own together with medbundle, so they cannot disturb medbundle's environment (docs/peers.md says why
fhir.resources is pinned to 8.2.0 there):

    python3 -m venv /tmp/peersenv
    /tmp/peersenv/bin/pip install -e . python-fhir-converter ccda-to-fhir dicom2fhir \
        hl7v2-fhir-bridge "fhir.resources==8.2.0"
    MEDBUNDLE_SHARED=../shared /tmp/peersenv/bin/python bench/peers.py

Every input is converted the way each tool's README shows, one input at a time; the output is
written to JSON as a user would save it and read back (Decimal-preserving) for medbundle's validator
(`converter.validate.validate_bundle`). Output that is not a Bundle would be wrapped in a collection
Bundle (counted in the table). medbundle converts the same inputs with `convert(validate=False)`
and is validated the same way. Times are conversion only (no validation), per input that produced
output, after one warm-up conversion per tool and family. Sockets are disabled while a tool
converts: a tool that tries to reach the network fails that input, and the attempt is counted.
The table goes to stdout and between the markers of docs/peers.md (the rest of that file is kept).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import importlib.metadata
import json
import logging
import os
import platform
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from converter import convert as medbundle_convert
from converter.validate import validate_bundle
from converter.writers.json import dumps, loads

SHARED = Path(os.environ.get("MEDBUNDLE_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"
DOC = ROOT / "docs" / "peers.md"
BEGIN, END = "<!-- peers.py: begin -->", "<!-- peers.py: end -->"
TIMEOUT_S = 120  # one conversion; a tool that takes longer fails that input
FAMILIES = ("hl7v2", "ccda", "dicom")


# ---------------------------------------------------------------- inputs


def hl7v2_inputs() -> list[Path]:
    """Every HL7 v2 file of the corpus: the FHIR-Converter samples and the V2-to-FHIR IG samples."""
    return sorted(p for p in (CORPUS / "hl7v2").rglob("*") if p.suffix in (".hl7", ".txt"))


def ccda_inputs() -> list[Path]:
    """The 22 FHIR-Converter sample documents and HL7's 12 C-CDA R2.1 example documents."""
    samples = sorted(p for p in (CORPUS / "ccda-samples" / "ms-fhir-converter").iterdir()
                     if p.is_file())
    examples = sorted(p for p in (CORPUS / "ccda-examples" / "Documents").rglob("*")
                      if p.suffix.lower() == ".xml")
    return samples + examples


def dicom_inputs() -> list[Path]:
    """pydicom's test files (offline, from the installed wheel): each top-level .dcm file, and
    each patient folder of its DICOMDIR test set (a folder is one input, as a disc would be)."""
    from pydicom.data import get_testdata_file

    folder = Path(get_testdata_file("CT_small.dcm", download=False)).parent
    files = sorted(folder.glob("*.dcm"))
    sets = sorted(p for p in (folder / "dicomdirtests").iterdir() if p.is_dir())
    return files + sets


INPUTS: dict[str, Callable[[], list[Path]]] = {
    "hl7v2": hl7v2_inputs, "ccda": ccda_inputs, "dicom": dicom_inputs}


# ---------------------------------------------------------------- tools


class Declined(Exception):
    """The tool says the input is outside what it converts (not a crash)."""


class Failed(Exception):
    """The tool reported that it could not convert the input (its own words are the message)."""


class NetworkBlocked(OSError):
    """Raised instead of opening a socket while a tool converts."""


@dataclass
class Tool:
    """A converter: its distribution name, the families it reads, and one function per family that
    turns one input path into the JSON texts a user would save (one per Bundle)."""

    name: str
    dist: str
    convert: dict[str, Callable[[Path], list[str]]]
    unsupported: dict[str, str] = field(default_factory=dict)  # family -> why there is no row


def medbundle_tool() -> Tool:
    def run(path: Path) -> list[str]:
        result = medbundle_convert(str(path), validate=False)
        if not result.bundles:
            fatal = [i for i in result.issues if i.severity in ("fatal", "error")]
            raise Failed(fatal[0].message if fatal else "no Bundle")
        return [dumps(b).decode() for b in result.bundles]

    return Tool("medbundle", "medbundle", {f: run for f in FAMILIES})


# python-fhir-converter: the caller names the template. A user picks the one for the document type;
# we do the same from the C-CDA R2.1 document templateId, and use CCD where the package has none.
PFC_TEMPLATES = {
    "2.16.840.1.113883.10.20.22.1.2": "CCD",
    "2.16.840.1.113883.10.20.22.1.3": "HistoryandPhysical",
    "2.16.840.1.113883.10.20.22.1.4": "ConsultationNote",
    "2.16.840.1.113883.10.20.22.1.6": "ProcedureNote",
    "2.16.840.1.113883.10.20.22.1.7": "OperativeNote",
    "2.16.840.1.113883.10.20.22.1.8": "DischargeSummary",
    "2.16.840.1.113883.10.20.22.1.9": "ProgressNote",
    "2.16.840.1.113883.10.20.22.1.13": "TransferSummary",
    "2.16.840.1.113883.10.20.22.1.14": "ReferralNote",
}
PFC_FALLBACK = "CCD"
pfc_fallbacks: list[str] = []  # documents for which no template matched


def pfc_template(path: Path) -> str:
    """The package template for the document's templateId (CCD when none matches)."""
    from lxml import etree

    roots = etree.parse(str(path)).xpath(
        "/*[local-name()='ClinicalDocument']/*[local-name()='templateId']/@root")
    for root in roots:
        if root in PFC_TEMPLATES:
            return PFC_TEMPLATES[root]
    pfc_fallbacks.append(path.name)
    return PFC_FALLBACK


def python_fhir_converter_tool() -> Tool:
    from fhir_converter.renderers import CcdaRenderer

    renderer = CcdaRenderer()  # README: CcdaRenderer().render_fhir_string(template, file)

    def run(path: Path) -> list[str]:
        template = pfc_template(path)
        with open(path, encoding="utf-8") as xml_in:
            return [renderer.render_fhir_string(template, xml_in)]

    return Tool("python-fhir-converter", "python-fhir-converter", {"ccda": run},
                {"hl7v2": "no HL7 v2 renderer or templates in this version (its README: "
                          "'Additional work is needed to support ... HL7v2->FHIR')"})


def ccda_to_fhir_tool() -> Tool:
    from ccda_to_fhir import convert_document

    def run(path: Path) -> list[str]:  # README: convert_document(f.read())["bundle"]
        with open(path, encoding="utf-8") as f:
            return [json.dumps(convert_document(f.read())["bundle"])]

    return Tool("ccda-to-fhir", "ccda-to-fhir", {"ccda": run})


DICOM2FHIR_CONFIG = {  # the README's example configuration
    "dicom_timezone": "Europe/Berlin",
    "generator": {"imaging_study": {"add_instances": False},
                  "observation": {"add_vital_signs": True}},
}


def dicom2fhir_tool() -> Tool:
    from dicom2fhir.dicom2fhir import from_directory

    def run(path: Path) -> list[str]:
        # from_directory reads a folder; a single file is given in a folder of its own
        with contextlib.ExitStack() as stack:
            folder = path
            if path.is_file():
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                (folder / path.name).symlink_to(path)
            config = json.loads(json.dumps(DICOM2FHIR_CONFIG))
            return [asyncio.run(from_directory(str(folder), config=config)).model_dump_json()]

    return Tool("dicom2fhir", "dicom2fhir", {"dicom": run})


def hl7v2_fhir_bridge_tool() -> Tool:
    from v2fhir.config import default_config_path, load_config
    from v2fhir.convert import UnsupportedMessage, convert
    from v2fhir.errors import HL7Error
    from v2fhir.hl7.parser import parse_bytes, split_batch_bytes
    from v2fhir.validate import BundleInvalid
    from v2fhir.validate import validate_bundle as bridge_validate

    cfg = load_config(default_config_path(), {})

    def run(path: Path) -> list[str]:
        """As `hl7v2-fhir-bridge convert FILE` does: split a batch, convert each message, check it
        with the bridge's own validator (the CLI default), one transaction Bundle per message."""
        out, declined, failed = [], [], []
        for message in split_batch_bytes(path.read_bytes()):
            try:
                conv = convert(parse_bytes(message, cfg.default_charset, cfg.fallback_charsets),
                               cfg)
                bridge_validate(conv.bundle)
                out.append(json.dumps(conv.bundle, ensure_ascii=False))
            except UnsupportedMessage as e:
                declined.append(str(e))
            except BundleInvalid as e:
                failed.append(f"rejected by its own validator: {e}")
            except HL7Error as e:
                failed.append(f"{type(e).__name__}: {e}")
        if failed:
            raise Failed(failed[0])
        if not out and declined:
            raise Declined(declined[0])
        return out

    return Tool("hl7v2-fhir-bridge", "hl7v2-fhir-bridge", {"hl7v2": run})


TOOLS: dict[str, Callable[[], Tool]] = {
    "medbundle": medbundle_tool,
    "python-fhir-converter": python_fhir_converter_tool,
    "ccda-to-fhir": ccda_to_fhir_tool,
    "dicom2fhir": dicom2fhir_tool,
    "hl7v2-fhir-bridge": hl7v2_fhir_bridge_tool,
}


# ---------------------------------------------------------------- isolation


network_attempts: list[str] = []


@contextlib.contextmanager
def no_network():
    """Refuse every connection and name lookup while a tool converts, and remember the attempt."""
    saved = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo,
             socket.create_connection)

    def refuse(*args: Any, **kwargs: Any):
        target = args[1] if len(args) > 1 and isinstance(args[0], socket.socket) else args[:1]
        network_attempts.append(repr(target)[:80])
        raise NetworkBlocked("network disabled by bench/peers.py")

    socket.socket.connect = socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.getaddrinfo = socket.create_connection = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo,
         socket.create_connection) = saved


class TimedOut(Exception):
    """A conversion ran past TIMEOUT_S."""


@contextlib.contextmanager
def time_limit(seconds: int):
    """Fail the conversion inside after `seconds` (a hanging peer must not stall the run)."""

    def expire(_signum, _frame):
        raise TimedOut(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------- measuring


@dataclass
class Row:
    """What one tool did with one input family: one line of the table."""

    tool: str
    family: str
    inputs: int = 0
    declined: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "file: reason"
    network: int = 0  # inputs during which the tool tried the network
    outputs: int = 0
    wrapped: int = 0  # outputs that were not a Bundle
    resources: int = 0
    invalid_outputs: int = 0
    errors: int = 0
    validator_crashes: list[str] = field(default_factory=list)
    kinds: collections.Counter = field(default_factory=collections.Counter)
    examples: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # conversion time of the inputs that produced output
    converted: int = 0


INDEX = re.compile(r"\[\d+\]")
ENTRY = re.compile(r"^Bundle\.entry\[(\d+)\]\.resource")


def error_kind(issue, bundle: dict) -> str:
    """Issue code and element path without indexes, the entry named by its resource type."""
    path = issue.location.expression or ""
    m = ENTRY.match(path)
    if m:
        entries = bundle.get("entry") or []
        i = int(m.group(1))
        res = entries[i].get("resource") if i < len(entries) and isinstance(entries[i], dict) else {}
        rtype = res.get("resourceType", "Resource") if isinstance(res, dict) else "Resource"
        path = rtype + path[m.end():]
    return f"{issue.code} {INDEX.sub('', path) or '(Bundle)'}"


def judge(row: Row, text: str) -> None:
    """Read one saved output back and validate it with medbundle's validator."""
    try:
        value = loads(text.encode())
    except Exception as e:  # noqa: BLE001 (invalid JSON is an output with one error)
        row.outputs += 1
        row.invalid_outputs += 1
        row.errors += 1
        row.kinds["invalid-json (output)"] += 1
        row.examples.setdefault("invalid-json (output)", str(e)[:120])
        return
    if not (isinstance(value, dict) and value.get("resourceType") == "Bundle"):
        row.wrapped += 1
        value = {"resourceType": "Bundle", "type": "collection",
                 "entry": [{"resource": r} for r in (value if isinstance(value, list) else [value])]}
    row.outputs += 1
    row.resources += len(value.get("entry") or [])
    try:
        issues = validate_bundle(value)
    except Exception as e:  # noqa: BLE001 (a validator crash is reported, not raised)
        row.validator_crashes.append(f"{type(e).__name__}: {e}"[:160])
        return
    errors = [i for i in issues if i.severity in ("fatal", "error")]
    row.errors += len(errors)
    row.invalid_outputs += bool(errors)
    for issue in errors:
        kind = error_kind(issue, value)
        row.kinds[kind] += 1
        row.examples.setdefault(kind, issue.message[:140])


def reason_of(e: BaseException) -> str:
    """The exception's first line, with the wrapped cause when the tool wraps one."""
    message = e.args[0] if e.args and isinstance(e.args[0], str) else str(e)
    lines = message.splitlines() or [""]
    if isinstance(e, Failed):
        return lines[0][:200]
    if "validation error" in lines[0]:  # pydantic: the field and the rule are on the next lines
        lines = [" ".join(line.strip() for line in lines[:3]).split(" [type=")[0]]
    text = f"{type(e).__name__}: {lines[0]}" if lines[0] else type(e).__name__
    cause = e.__cause__ or next((a for a in e.args if isinstance(a, BaseException)), None)
    if cause is not None and cause is not e:
        text += f" ({reason_of(cause)})"
    return text[:200]


def measure(tool: Tool, family: str, inputs: list[Path], keep: Path | None) -> Row:
    row = Row(tool.name, family, inputs=len(inputs))
    run = tool.convert[family]
    with contextlib.suppress(Exception), no_network(), time_limit(TIMEOUT_S):
        run(inputs[0])  # warm-up: imports, templates, tables
    for path in inputs:
        label = path.name
        before = len(network_attempts)
        t0 = time.perf_counter()
        try:
            with no_network(), time_limit(TIMEOUT_S):
                texts = run(path)
            elapsed = time.perf_counter() - t0
        except Declined as e:
            row.declined.append(f"{label}: {e}")
            continue
        except (Exception, SystemExit) as e:  # noqa: BLE001 (a crash or a rejection)
            reason = reason_of(e)
            if isinstance(e, NetworkBlocked) or len(network_attempts) > before:
                reason = f"tried to use the network ({reason})"
            row.failed.append(f"{label}: {reason}")
            row.network += len(network_attempts) > before
            continue
        row.network += len(network_attempts) > before
        if texts:
            row.seconds += elapsed
            row.converted += 1
        for n, text in enumerate(texts):
            judge(row, text)
            if keep is not None:
                out = keep / tool.name / family / f"{path.name}.{n}.json"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(text)
    return row


# ---------------------------------------------------------------- report


def version(dist: str) -> str:
    try:
        found = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
    if dist == "medbundle":
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True, check=True).stdout.strip()
            found += f" (commit {commit})"
    return found


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{len(os.sched_getaffinity(0))} cores ({cpu}), {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def _grouped(entries: list[str]) -> list[tuple[str, list[str]]]:
    """("file: reason") entries grouped by reason (offsets and quoted values blanked), most first."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for entry in entries:
        name, _, reason = entry.partition(": ")
        groups[re.sub(r"'[^']*'|\"[^\"]*\"|(?<![\w.])\d{3,}(?![\w.])", "…", reason)[:160]].append(name)
    return sorted(groups.items(), key=lambda kv: -len(kv[1]))


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def table(rows: list[Row]) -> str:
    head = ("| tool | input family | inputs | declined (out of scope) | failed (no output: "
            "error or crash) | outputs (Bundles) | resources per output | outputs with errors | "
            "errors per output | ms per converted input |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        per = f"{r.errors / r.outputs:.1f}" if r.outputs else "–"
        res = f"{r.resources / r.outputs:.0f}" if r.outputs else "–"
        ms = f"{r.seconds / r.converted * 1000:.1f}" if r.converted else "–"
        pct = f" ({r.invalid_outputs / r.outputs:.0%})" if r.outputs else ""
        fail = str(len(r.failed)) + (f", {r.network} network" if r.network else "")
        lines.append(f"| {r.tool} | {r.family} | {r.inputs} | {len(r.declined)} | {fail} | "
                     f"{r.outputs}{' (' + str(r.wrapped) + ' wrapped)' if r.wrapped else ''} | "
                     f"{res} | {r.invalid_outputs}{pct} | {per} | {ms} |")
    return "\n".join(lines)


def details(rows: list[Row]) -> str:
    out = []
    for r in rows:
        out.append(f"**{r.tool}, {r.family}**\n")
        if r.kinds:
            out.append("- most frequent error kinds (issue code, element path without indexes):")
            out += [f"  - {n} × `{kind}` ({_one_line(r.examples[kind])})"
                    for kind, n in r.kinds.most_common(5)]
        else:
            out.append("- no validation errors")
        for label, entries in (("failed", r.failed), ("declined", r.declined)):
            if entries:
                groups = _grouped(entries)
                out.append(f"- {label}: {len(entries)} inputs, {len(groups)} reasons:")
                out += [f"  - {len(names)} × {_one_line(why)} ({', '.join(names[:3])}"
                        f"{', ...' if len(names) > 3 else ''})" for why, names in groups[:5]]
        if r.validator_crashes:
            out.append(f"- validator crashed on {len(r.validator_crashes)} outputs: "
                       f"{r.validator_crashes[0]}")
        out.append("")
    return "\n".join(out)


def report(rows: list[Row], skipped: list[str], seconds: float) -> str:
    dists = ["medbundle", "python-fhir-converter", "ccda-to-fhir", "dicom2fhir",
             "hl7v2-fhir-bridge", "fhir.resources", "fhir-core", "pydantic", "pydicom", "lxml"]
    parts = [
        (f"Run {datetime.now(UTC):%Y-%m-%d} on {machine()}; whole run {seconds:.0f} s, peak "
         f"memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB max RSS "
         "(all tools in one process)."),
        "",
        "Versions: " + ", ".join(f"{d} {version(d)}" for d in dists) + ".",
        "",
        table(rows),
        "",
    ]
    if skipped:
        parts += ["Not measured: " + "; ".join(skipped) + ".", ""]
    if pfc_fallbacks:
        names = sorted(set(pfc_fallbacks))
        parts += [(f"python-fhir-converter has no template for {len(names)} document types; "
                   f"they were rendered with `{PFC_FALLBACK}`: {', '.join(names)}."), ""]
    parts += [details(rows)]
    return "\n".join(parts).rstrip() + "\n"


def write_doc(text: str) -> None:
    """Replace the part between the markers, keeping the hand-written rest of docs/peers.md."""
    block = f"{BEGIN}\n{text}{END}"
    old = DOC.read_text() if DOC.exists() else f"# Peers\n\n{BEGIN}\n{END}\n"
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END):]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--no-doc", action="store_true", help="print only, leave docs/peers.md")
    ap.add_argument("--keep", type=Path, help="save every output under DIR/tool/family/")
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)  # peers log every resource; their logs are not output
    warnings.simplefilter("ignore")
    families = [f for f in FAMILIES if f in args.families.split(",")]
    inputs = {f: INPUTS[f]() for f in families}
    start = time.perf_counter()
    rows, skipped = [], []
    for name in args.tools.split(","):
        try:
            tool = TOOLS[name]()
        except ImportError as e:
            skipped.append(f"{name} (not importable: {e})")
            continue
        for family in families:
            if family in tool.unsupported:
                skipped.append(f"{name}, {family}: {tool.unsupported[family]}")
                continue
            if family in tool.convert:
                print(f"{name}, {family}: {len(inputs[family])} inputs ...", file=sys.stderr)
                rows.append(measure(tool, family, inputs[family], args.keep))
    text = report(rows, skipped, time.perf_counter() - start)
    print(text)
    if not args.no_doc:
        write_doc(text)


if __name__ == "__main__":
    main()
