"""The conversion pipeline: sources -> readers -> assembly -> validation -> Result."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterable, Iterator

from . import collector
from .assemble import assemble
from .fragment import Fragment
from .issues import Issue, Location, has_errors
from .readers import reader_for
from .sources import discover, group_by_format
from .validate import validate_bundle

ERROR_TAG = {"system": "urn:medbundle:tag", "code": "conversion-errors",
             "display": "converted with errors: see the issues report"}


@dataclass
class Result:
    """What a conversion produced: one Bundle per patient, and every issue met on the way."""

    bundles: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    fragments: int = 0  # messages, documents and studies read

    @property
    def bundle(self) -> dict[str, Any] | None:
        """The Bundle when the inputs hold one patient (None when nothing could be converted)."""
        if not self.bundles:
            return None
        if len(self.bundles) > 1:
            raise ValueError(f"the inputs hold {len(self.bundles)} patients: use result.bundles")
        return self.bundles[0]

    @property
    def ok(self) -> bool:
        """True when no issue is an error."""
        return not has_errors(self.issues)

    @property
    def exit_code(self) -> int:
        """0 converted and valid, 1 converted with errors, 2 nothing usable in the input."""
        if not self.bundles:
            return 2
        return 0 if self.ok else 1


def convert(inputs: Any, format: str = "auto", bundle_type: str = "collection",
            validate: bool = True, stdin: BinaryIO | None = None,
            on_fragment: Callable[[Fragment], None] | None = None,
            timestamp: str | None = None, keep_source: bool = False,
            workers: int = 1) -> Result:
    """Convert HL7 v2, CDA and DICOM inputs into one FHIR R4 Bundle per patient.

    `inputs`: a path, "-" (stdin), bytes, a binary file object, or a list of these.
    Bad input never raises: it is reported in `Result.issues`. `on_fragment` is called after each
    message, document or study is read (the CLI's progress display). `timestamp` pins
    Bundle.timestamp (as SOURCE_DATE_EPOCH does); without either, collection and transaction Bundles
    carry none, so the same input gives the same bytes. `keep_source` carries each CDA document
    itself in the Bundle (a DocumentReference with the original as a base64 attachment).
    `workers` > 1 reads HL7 v2 and CDA sources, and validates the Bundles, in that many processes
    (this one and workers-1 others; 0: one per available core; see converter/parallel.py), when
    the input is big enough to gain; the output is the same.
    """
    with collector.paused():  # the output is trees: refcounting frees it (collector.py)
        sources, issues = discover(inputs, format, stdin)
        if workers != 1:
            from .parallel import available_cores

            workers = workers if workers > 1 else available_cores()
        fragments = _read_all(sources, issues, keep_source, on_fragment, workers)
        result = Result(issues=issues, fragments=len(fragments))
        assembled, assembly_issues = assemble(fragments, bundle_type, timestamp)
        issues.extend(assembly_issues)
        result.bundles = [bundle for _group, bundle in assembled]
        if validate and workers > 1:
            from .parallel import validate_all

            for found in validate_all(result.bundles, workers):
                issues.extend(found)
        elif validate:
            for bundle in result.bundles:
                issues.extend(validate_bundle(bundle, source=f"Bundle/{bundle['id']}"))
    if not validate:
        issues.append(Issue("information", "validation-skipped",
                            "validation turned off (--no-validate): the Bundle was not checked"))
    if not result.ok:
        for bundle in result.bundles:
            bundle.setdefault("meta", {}).setdefault("tag", []).append(dict(ERROR_TAG))
    return result


def convert_each(inputs: Iterable[Any], workers: int = 1, batch: int = 64,
                 **options: Any) -> Iterator[Result]:
    """`convert(item, **options)` of each item, in order: one Result, and one Bundle per patient,
    per item, as an interface engine forwards a feed message by message (convert() of a list
    merges the items' patients across them instead).

    `inputs` may be any iterable, also an endless one (messages as they arrive): it is taken
    `batch` items at a time. With `workers` > 1 (0: one per available core), this process and
    workers-1 worker processes share each batch (converter/parallel.py); the Results are those of
    convert(), byte for byte. `options` are convert()'s keywords except stdin and on_fragment (a
    worker has neither the caller's stdin nor its callbacks); each item is read in one process.
    """
    unsupported = {"stdin", "on_fragment"}.intersection(options)
    if unsupported:  # (raised here, not at the first item)
        raise TypeError(f"convert_each() takes no {', '.join(sorted(unsupported))}")
    if workers != 1:
        from .parallel import available_cores, convert_batches

        workers = workers if workers > 1 else available_cores()
    if workers == 1:  # (also `0` on a machine with one core)
        return (convert(item, **options) for item in inputs)
    return convert_batches(inputs, workers, max(1, batch), options)


def _read_all(sources: list, issues: list[Issue], keep_source: bool,
              on_fragment: Callable[[Fragment], None] | None, workers: int) -> list[Fragment]:
    """Every fragment of every source, in input order (format by format)."""
    fragments: list[Fragment] = []
    for fmt, group in group_by_format(sources).items():
        read = reader_for(fmt)
        if read is None:
            issues.extend(Issue("fatal", "no-reader", f"no {fmt} reader in this build",
                                Location(source=s.name)) for s in group)
            continue
        produced = None
        if workers > 1:
            from .parallel import PARALLEL_FORMATS, read_sources  # with workers only

            if fmt in PARALLEL_FORMATS:
                produced = read_sources(fmt, group, keep_source, workers)
        if produced is None:
            produced = read(group, keep_source=True) if keep_source and fmt == "cda" else \
                read(group)
        for frag in produced:
            fragments.append(frag)
            issues.extend(frag.issues)
            if on_fragment is not None:
                on_fragment(frag)
    return fragments
