"""Reading one DICOM file's header: truncation anywhere (meta, values, pixel data, fragments) is
caught, non-DICOM content is refused, and nothing raises."""
from __future__ import annotations

from pathlib import Path

import pytest

from converter.readers.dicom import read
from converter.readers.dicom.files import read_header
from converter.readers.dicom.grouping import Collector
from converter.sources import Source
from test_dicom_make import encapsulated, instance, text_sr, to_bytes


def _header(data: bytes, name: str = "x.dcm"):
    return read_header(Source(name, "dicom", data=data))


def _accepted(data: bytes) -> bool:
    """True when a cut file would be converted as if it were whole."""
    h = _header(data)
    return h.dataset is not None and not h.no_pixels and not Collector().add("x", h.dataset, None)


def test_whole_file_reads_without_issues():
    h = _header(to_bytes(instance(pixels=16)))
    assert h.dataset is not None and not h.issues and not h.no_pixels
    assert "PixelData" not in h.dataset  # headers only


@pytest.mark.parametrize("make", [lambda: instance(pixels=16), lambda: encapsulated(instance()),
                                  lambda: instance(pixels=0, sop_class="1.2.3.4"), text_sr])
def test_no_cut_is_silently_accepted_except_between_elements(make):
    """Cut the file at every byte: each cut is reported, unless it falls exactly between two
    elements of a file that needs no pixel data (nothing structural can tell those apart)."""
    data = to_bytes(make())
    ds = _header(data).dataset
    boundaries = {e.value_tell + e.length for e in ds.values() if hasattr(e, "value_tell")
                  and e.length != 0xFFFFFFFF}
    silent = [cut for cut in range(len(data)) if _accepted(data[:cut])]
    assert all(cut in boundaries or cut > len(data) - 16 for cut in silent), silent
    needs_pixels = "PixelData" in make()
    if needs_pixels:
        assert not silent


def test_cut_inside_the_meta_is_truncated_not_an_empty_data_set():
    data = to_bytes(instance())
    h = _header(data[:150])  # pydicom alone reads this as an empty data set, without error
    assert h.dataset is None
    assert [i.code for i in h.issues] == ["truncated"]
    assert "ends at byte 150 of 150" in h.issues[0].message


def test_cut_inside_native_pixel_data():
    data = to_bytes(instance(pixels=64))
    h = _header(data[:-100])
    assert h.dataset is None and h.issues[0].code == "truncated"


def test_cut_inside_encapsulated_fragments():
    data = to_bytes(encapsulated(instance()))
    assert _header(data).dataset is not None
    h = _header(data[:-20])
    assert h.dataset is None and h.issues[0].code == "truncated"


def test_image_without_pixel_data_is_flagged_not_dropped():
    ds = instance(pixels=0)
    h = _header(to_bytes(ds))
    assert h.dataset is not None and h.no_pixels


@pytest.mark.parametrize("data, code", [
    (b"", "empty-input"),
    (b"\x00" * 128 + b"DICM" + b"\xff" * 64, "truncated"),
    (b"\x00" * 128 + b"DICM", "truncated"),  # the meta that must follow is missing
    (b"not dicom at all, but a text file that was named .dcm" * 4, "unreadable"),
])
def test_bad_content_gives_an_issue(data, code):
    h = _header(data, "bad.dcm")
    assert h.dataset is None
    assert h.issues and h.issues[0].code == code and h.issues[0].location.source == "bad.dcm"


def test_missing_file_is_unreadable(tmp_path):
    h = read_header(Source(str(tmp_path / "gone.dcm"), "dicom", path=tmp_path / "gone.dcm"))
    assert h.dataset is None and h.issues[0].code == "unreadable"


def test_read_reports_each_bad_file_and_converts_the_rest(tmp_path):
    good = tmp_path / "good.dcm"
    good.write_bytes(to_bytes(instance()))
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(to_bytes(instance(number=2, pixels=32))[:-10])
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x00" * 128 + b"DICM" + b"garbage!" * 10)
    sources = [Source(str(p), "dicom", path=p) for p in (good, cut, junk)]
    fragments = list(read(sources))
    studies = [f for f in fragments if f.kind == "study"]
    bad = {Path(f.source).name: f.issues[0].code for f in fragments if f.unusable}
    assert len(studies) == 1 and bad == {"cut.dcm": "truncated", "junk.dcm": "truncated"}


def test_missing_uids_make_the_file_unusable():
    ds = instance()
    del ds.StudyInstanceUID
    fragments = list(read([Source("nouid.dcm", "dicom", data=to_bytes(ds))]))
    [frag] = fragments
    assert frag.unusable and frag.issues[0].code == "missing-field"
    assert "Study Instance UID (0020,000D)" in frag.issues[0].message


def test_invalid_uid_is_refused():
    ds = instance()
    with pytest.warns(UserWarning, match="Invalid value for VR UI"):
        ds.SeriesInstanceUID = "1.2.3 with spaces"
    [frag] = list(read([Source("bad.dcm", "dicom", data=to_bytes(ds))]))
    assert frag.unusable and frag.issues[0].code == "invalid-value"
