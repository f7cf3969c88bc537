"""The `medbundle` command line (typer). Output on stdout, messages on stderr, never a traceback."""
from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import typer

from . import __version__
from .convert import Result, convert as run_convert
from .issues import Issue
from .summary.command import Language, summary as summary_command, write_summary
from .summary.fonts import MissingFontError
from .writers.json import dumps, loads
from .writers.outcome import operation_outcome, sort_issues

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Convert HL7 v2, CDA/C-CDA and DICOM into validated FHIR R4 Bundles, one per patient.",
)


INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class Format(str, Enum):
    auto = "auto"
    hl7v2 = "hl7v2"
    cda = "cda"
    dicom = "dicom"


class BundleType(str, Enum):
    collection = "collection"
    transaction = "transaction"
    document = "document"


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


MAX_WARNINGS = 25  # beyond this, warnings are counted by code on the terminal (--verbose: all)


def _print_issues(issues: list[Issue], verbose: bool) -> None:
    """Errors always, one per line; warnings up to MAX_WARNINGS, then counted by code; information
    notes counted (all of them with --verbose, and always in --report)."""
    ordered = sort_issues(issues)
    errors = [i for i in ordered if i.is_error]
    warnings = [i for i in ordered if i.severity == "warning"]
    notes = [i for i in ordered if i.severity == "information"]
    for i in errors:
        _err(f"medbundle: {i}")
    shown = warnings if verbose else warnings[:MAX_WARNINGS]
    for i in shown:
        _err(f"medbundle: {i}")
    rest = warnings[len(shown):]
    if rest:
        counts: dict[str, int] = {}
        for i in rest:
            counts[i.code] = counts.get(i.code, 0) + 1
        kinds = ", ".join(f"{n} {code}" for code, n in sorted(counts.items()))
        _err(f"medbundle: {len(rest)} more warnings ({kinds}); --verbose shows them, "
             "--report FILE keeps them")
    if verbose:
        for i in notes:
            _err(f"medbundle: {i}")
    elif notes:
        _err(f"medbundle: {len(notes)} information notes (unmapped fields and segments...); "
             "--verbose shows them, --report FILE keeps them")


@contextmanager
def _progress() -> Iterator[Callable | None]:
    """A live count of converted units on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.completed} converted  {task.description}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=None)
        yield lambda frag: bar.update(task, advance=1, description=frag.source[-60:])


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _names_patient(bundle: dict, wanted: str) -> bool:
    """True when the Bundle's Patient has `wanted` as id or as an identifier value."""
    for e in bundle.get("entry", []):
        r = e["resource"]
        if r["resourceType"] == "Patient" and (r["id"] == wanted or any(
                i.get("value") == wanted for i in r.get("identifier", []))):
            return True
    return False


def _patient_file_name(bundle: dict, n: int) -> str:
    """<family>_<given>_<birthdate>.json from the Bundle's Patient, made safe for any file system."""
    for e in bundle.get("entry", []):
        r = e["resource"]
        if r["resourceType"] == "Patient":
            name = (r.get("name") or [{}])[0]
            parts = [name.get("family", ""), " ".join(name.get("given", [])[:1]),
                     r.get("birthDate", "")]
            stem = "_".join(p for p in parts if p)
            safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)
            if safe:
                return f"{safe}.json"
    return f"bundle-{n}.json"


@app.command(epilog="""Examples:

  medbundle convert feed.hl7 -o bundle.json

  cat feed.hl7 | medbundle convert - > bundle.json

  medbundle convert exports/ --out-dir bundles/ --report issues.json

Exit codes: 0 converted and valid; 1 converted with errors (output written, tagged
conversion-errors); 2 unusable input or usage error.""")
def convert(
    inputs: List[str] = typer.Argument(..., metavar="INPUT...",
                                       help="Files, directories (recursive), or - for stdin."),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="Write the Bundle here instead of stdout."),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir",
                                           help="Write one <family>_<given>_<birthdate>.json "
                                                "per patient into this folder."),
    fmt: Format = typer.Option(Format.auto, "--format", help="Input format; sniffed by default."),
    bundle_type: BundleType = typer.Option(BundleType.collection, "--bundle-type",
                                           help="collection; transaction (conditional updates "
                                                "keyed on business identifiers); or document (an "
                                                "International Patient Summary 2.0)."),
    patient: Optional[str] = typer.Option(None, "--patient",
                                          help="Only the patient with this identifier value "
                                               "(or Patient id)."),
    pinned_time: Optional[str] = typer.Option(None, "--timestamp",
                                              help="Bundle.timestamp to write (ISO 8601 with "
                                                   "offset), for reproducible output; "
                                                   "SOURCE_DATE_EPOCH does the same."),
    report: Optional[Path] = typer.Option(None, "--report",
                                          help="Write every issue as a FHIR OperationOutcome."),
    no_validate: bool = typer.Option(False, "--no-validate", help="Skip validation (faster)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=0,
                             help="Read and validate in this many processes (0: one per core), "
                                  "when the input is big enough to gain."),
    keep_source: bool = typer.Option(False, "--keep-source",
                                     help="Carry each CDA document itself in the Bundle (a "
                                          "DocumentReference with the original, base64)."),
    compact: bool = typer.Option(False, "--compact", help="One-line JSON."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Also print information notes."),
    summary_file: Optional[Path] = typer.Option(
        None, "--summary", help="Also write a human-readable summary (.html, .md or .pdf)."),
    summary_lang: Language = typer.Option(Language.en, "--summary-lang",
                                          help="Summary language: en, zh or en+zh."),
) -> None:
    """Convert inputs to FHIR R4 Bundle JSON (one Bundle per patient)."""
    if output and out_dir:
        _err("medbundle: -o and --out-dir cannot be used together")
        raise typer.Exit(2)
    if pinned_time and not INSTANT.match(pinned_time):
        _err(f"medbundle: --timestamp {pinned_time!r} is not an instant like "
             "2024-05-01T12:00:00Z (date, time with seconds, and offset)")
        raise typer.Exit(2)
    with _progress() as tick:
        result: Result = run_convert(inputs, format=fmt.value, bundle_type=bundle_type.value,
                                     validate=not no_validate, on_fragment=tick,
                                     timestamp=pinned_time, keep_source=keep_source,
                                     workers=jobs)
    if patient:
        chosen = [b for b in result.bundles if _names_patient(b, patient)]
        if not chosen:
            _print_issues(result.issues, verbose)
            _err(f"medbundle: no patient with identifier or id {patient!r} in the inputs "
                 f"({len(result.bundles)} patient(s) found)")
            raise typer.Exit(2)
        result.bundles = chosen
    _print_issues(result.issues, verbose)
    if report:
        _write(report, dumps(operation_outcome(result.issues)))
    if not result.bundles:
        _err("medbundle: nothing could be converted")
        raise typer.Exit(2)
    indent = 0 if compact else 2
    if out_dir:
        used: set[str] = set()
        for n, b in enumerate(result.bundles, 1):
            name = _patient_file_name(b, n)
            if name in used:
                name = name.removesuffix(".json") + f"-{n}.json"
            used.add(name)
            _write(out_dir / name, dumps(b, indent))
        _err(f"medbundle: wrote {len(result.bundles)} bundle(s) to {out_dir}")
    elif output:
        if len(result.bundles) > 1:
            _err(f"medbundle: the inputs hold {len(result.bundles)} patients; -o takes one. "
                 "Use --out-dir DIR (one file per patient) or stdout (NDJSON).")
            raise typer.Exit(2)
        _write(output, dumps(result.bundles[0], indent))
    elif len(result.bundles) == 1:
        sys.stdout.buffer.write(dumps(result.bundles[0], indent))
    else:
        for b in result.bundles:  # NDJSON: one Bundle per line
            sys.stdout.buffer.write(dumps(b, 0))
    sys.stdout.flush()
    if summary_file:
        if len(result.bundles) > 1:
            _err("medbundle: --summary takes one patient; use medbundle summary on each Bundle")
            raise typer.Exit(2)
        try:
            write_summary(result.bundles[0], summary_file, summary_lang.value,
                          operation_outcome(result.issues))
        except (MissingFontError, ValueError) as exc:
            _err(f"medbundle: {exc}")
            raise typer.Exit(2)
    raise typer.Exit(result.exit_code)


@app.command(epilog="""Examples:

  medbundle validate bundle.json

  medbundle validate other-tool-output.json --report outcome.json

Exit codes: 0 no errors; 1 errors; 2 not FHIR JSON.""")
def validate(
    bundle: Path = typer.Argument(..., help="A FHIR Bundle or resource as JSON."),
    report: Optional[Path] = typer.Option(None, "--report",
                                          help="Write the result as a FHIR OperationOutcome."),
    profile: Optional[str] = typer.Option(None, "--profile",
                                          help="Also check a profile: ips (International "
                                               "Patient Summary 2.0)."),
) -> None:
    """Validate a FHIR R4 Bundle or resource file, ours or another tool's."""
    if profile not in (None, "ips"):
        _err(f"medbundle: unknown profile {profile!r} (known: ips)")
        raise typer.Exit(2)
    from .validate import validate_bundle

    try:
        data = loads(bundle.read_bytes())
    except OSError as exc:
        _err(f"medbundle: {bundle}: cannot read: {exc.strerror or exc}")
        raise typer.Exit(2)
    except ValueError as exc:
        _err(f"medbundle: {bundle}: not JSON: {exc}")
        raise typer.Exit(2)
    issues = validate_bundle(data, source=str(bundle), profile=profile)
    if report:
        _write(report, dumps(operation_outcome(issues)))
    if any(i.code == "not-fhir" for i in issues):
        _print_issues(issues, True)
        raise typer.Exit(2)
    _print_table(issues)
    errors = sum(1 for i in issues if i.is_error)
    _err(f"medbundle: {bundle}: {errors} error(s), {len(issues) - errors} other issue(s)")
    raise typer.Exit(1 if errors else 0)


def _print_table(issues: list[Issue]) -> None:
    """The validation result as an aligned table on stderr: severity, element, code, message."""
    rows = [(i.severity, i.location.expression or str(i.location), i.code, i.message)
            for i in sort_issues(issues)]
    if not rows:
        return
    head = ("severity", "element (FHIRPath)", "code", "message")
    widths = [min(max(len(r[k]) for r in rows + [head]), 60) for k in range(3)]
    for r in [head] + rows:
        cells = [r[k][:60].ljust(widths[k]) for k in range(3)]
        _err("  ".join(cells + [r[3]]))


app.command(name="summary", epilog="""Examples:

  medbundle summary bundle.json -o summary.html

  medbundle summary bundle.json --format pdf --lang zh

  medbundle summary bundle.json -o summary.md --lang en+zh""")(summary_command)


@app.command()
def version() -> None:
    """Print the medbundle version."""
    sys.stdout.write(f"medbundle {__version__}\n")


def main() -> None:
    """Console entry point: run the app; an unexpected failure is one line on stderr, exit 2."""
    try:
        app(prog_name="medbundle")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        _err("medbundle: interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback for users
        _err(f"medbundle: internal error: {type(exc).__name__}: {exc} "
             "(please report this with the input that caused it)")
        sys.exit(2)
