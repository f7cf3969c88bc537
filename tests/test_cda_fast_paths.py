"""The CDA reader's fast paths give what the plain ones would: the narrative written as text is what
lxml would serialise, look-ups remembered per document equal fresh ones, and an author block read
once stands for its repeats."""
from __future__ import annotations

import random

import pytest
from conftest import CORPUS
from lxml import etree

import converter
from converter.fragment import Fragment
from converter.readers.cda.context import Context
from converter.readers.cda.narrative import XHTML, xhtml
from converter.readers.cda.nodes import (V3, child, children, indexed, related, statement,
                                         templates)
from converter.readers.cda.parse import parse

NS = 'xmlns="urn:hl7-org:v3"'
SAMPLES = sorted((CORPUS / "ccda-examples" / "Documents").rglob("*.xml"))[:6]


def _roundtrip(div: str) -> str:
    """What etree writes for the tree `div` parses to."""
    return etree.tostring(etree.fromstring(div.encode("utf-8")), encoding="unicode")


def test_narrative_text_is_what_lxml_writes() -> None:
    text = etree.fromstring(
        f'<text {NS}>a &amp; b &lt;c&gt; d&#13;\ne "q" \'s\' ]]&gt; é'
        '<paragraph styleCode="Bold Italics">p<br/>q</paragraph>'
        '<list listType="ordered"><caption>cap &amp;</caption><item>i</item><item/></list>'
        '<table border="1" onclick="x"><tbody><tr><td colspan="2" ID="c1">x</td><td/></tr>'
        '</tbody></table><linkHtml href="#c1">in</linkHtml><linkHtml href="http://x">out'
        '</linkHtml><footnoteRef IDREF="n&amp;1"/><renderMultiMedia referencedObject="m"/>'
        '<unknown>kept</unknown></text>')
    div = xhtml(text)
    assert div.startswith(f'<div xmlns="{XHTML}">')
    assert _roundtrip(div) == div
    assert "<br/>" in div and "<li/>" in div and "<td/>" in div and "&#13;" in div
    assert 'href="#c1"' in div and "http://x" not in div and "onclick" not in div


def test_random_narratives_are_what_lxml_writes() -> None:
    rnd = random.Random(7)
    names = ["content", "paragraph", "list", "item", "caption", "table", "tr", "td", "br",
             "linkHtml", "footnoteRef", "sub", "unknown", "script"]
    texts = ["", " ", "\n\t", "a&b", "<x>", "\r", "é", "]]>", "\xa0"]

    def grow(parent: etree._Element, depth: int) -> None:
        for _ in range(rnd.randint(0, 3)):
            el = etree.SubElement(parent, V3 + rnd.choice(names))
            if rnd.random() < 0.3:
                el.set(rnd.choice(["ID", "styleCode", "listType", "href", "IDREF", "colspan"]),
                       rnd.choice(["x1", "Bold", "ordered", "#x1", "a b", "2", "&"]))
            el.text, el.tail = rnd.choice(texts), rnd.choice(texts)
            if depth < 3:
                grow(el, depth + 1)

    for _ in range(300):
        root = etree.Element(V3 + "text")
        root.text = rnd.choice(texts)
        grow(root, 0)
        div = xhtml(root)
        if div is not None:
            assert _roundtrip(div) == div


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_remembered_look_ups_equal_fresh_ones(path) -> None:
    root, _issues = parse(path.read_bytes(), path.name)
    elements = [el for el in root.iter() if isinstance(el.tag, str)]

    def look_ups() -> list:
        return [(child(el, "code"), children(el, "id"), templates(el), statement(el),
                 list(related(el)), list(related(el, "SUBJ", "COMP"))) for el in elements]

    fresh = look_ups()
    with indexed():
        assert look_ups() == fresh
        assert look_ups() == fresh  # and again, from what was remembered


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_xpaths_name_the_element(path) -> None:
    root, _issues = parse(path.read_bytes(), path.name)
    ctx = Context(path.name, root, Fragment(source=path.name, format="cda"))
    namespaces = {"v3": "urn:hl7-org:v3"}
    for el in list(root.iter(V3 + "section", V3 + "entry", V3 + "observation"))[:60]:
        steps = ctx.xpath(el).split("/")[1:]
        found = root.xpath("/" + "/".join(f"v3:{s}" for s in steps), namespaces=namespaces)
        assert found == [el]


def test_a_repeated_author_block_is_one_practitioner_read_once() -> None:
    author = ('<author><time value="20230101"/><assignedAuthor><id root="2.16.840.1.113883.4.6" '
              'extension="111"/><addr><city>Town</city></addr><assignedPerson><name><given>Ann'
              '</given><family>Lee</family></name></assignedPerson></assignedAuthor></author>')
    entry = ('<entry><act classCode="ACT" moodCode="EVN"><templateId root="2.16.840.1.113883.10.'
             '20.22.4.3"/><id root="{id}"/><code code="CONC" codeSystem="2.16.840.1.113883.5.6"/>'
             '<statusCode code="active"/>' + author + '<entryRelationship typeCode="SUBJ">'
             '<observation classCode="OBS" moodCode="EVN"><templateId root="2.16.840.1.113883.10.'
             '20.22.4.4"/><id root="{id}1"/><code code="55607006" codeSystem="2.16.840.1.113883.6.'
             '96"/><statusCode code="completed"/><value xmlns:xsi="http://www.w3.org/2001/'
             'XMLSchema-instance" xsi:type="CD" code="38341003" codeSystem="2.16.840.1.113883.6.96"'
             '/>' + author + '</observation></entryRelationship></act></entry>')
    doc = (f'<ClinicalDocument {NS}><id root="1.2.3" extension="doc"/><title>t</title>'
           '<effectiveTime value="20230101120000+0000"/><recordTarget><patientRole><id root="1.2" '
           'extension="p1"/><patient><name><family>P</family></name></patient></patientRole>'
           '</recordTarget>' + author + '<component><structuredBody><component><section>'
           '<templateId root="2.16.840.1.113883.10.20.22.2.5.1"/><title>Problems</title>'
           + entry.format(id="5.6.7") + entry.format(id="5.6.8")
           + '</section></component></structuredBody></component></ClinicalDocument>')
    bundle = converter.convert(doc.encode("utf-8"), validate=False).bundle
    practitioners = [e["resource"] for e in bundle["entry"]
                     if e["resource"]["resourceType"] == "Practitioner"]
    assert len(practitioners) == 1
    assert practitioners[0]["address"] == [{"city": "Town"}]
    conditions = [e["resource"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "Condition"]
    assert len(conditions) == 2
    assert {c["recorder"]["reference"] for c in conditions} == {
        f"urn:uuid:{practitioners[0]['id']}"}
