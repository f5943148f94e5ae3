"""Join the parts of a report PDF with pypdf: links across parts, page numbers, the outline."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    Fit,
    IndirectObject,
    NameObject,
    TextStringObject,
)

from auditor.report.render import XREF

logger = logging.getLogger(__name__)

Outline = Sequence[tuple[int, str, str]]  # (level, title, anchor)


@dataclass(frozen=True)
class Part:
    """A rendered part: its bytes, its page count, and the page index of each anchor in it.

    Only these are kept between rendering and joining: a parsed PDF holds far more memory.
    """

    data: bytes
    pages: int
    anchors: dict[str, int]

    @classmethod
    def of(cls, data: bytes) -> Part:
        """Read the page count and the named destinations of a part."""
        if not data:
            return cls(data, 0, {})
        reader = PdfReader(io.BytesIO(data))
        found: dict[str, int] = {}
        for name, dest in reader.named_destinations.items():
            index = reader.get_destination_page_number(dest)
            if index is not None:
                found[str(name)] = index
        return cls(data, len(reader.pages), found)


def page_numbers(parts: Sequence[Part], front_pages: int) -> dict[str, int]:
    """The 1-based page of every anchor of the body parts, the front matter coming first."""
    out: dict[str, int] = {}
    offset = front_pages
    for part in parts:
        for name, index in part.anchors.items():
            out.setdefault(name, offset + index + 1)
        offset += part.pages
    return out


def join(front: Part, parts: Sequence[Part], stamp: bytes, outline: Outline) -> bytes:
    """One PDF: front matter, then the parts; metadata and language from the front matter."""
    writer = PdfWriter()
    first = PdfReader(io.BytesIO(front.data))
    writer.append(first, import_outline=False)
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part.data)), import_outline=False)
    if first.metadata:
        writer.add_metadata({str(k): str(v) for k, v in first.metadata.items()})
    root = first.root_object
    if "/Lang" in root:
        writer._root_object[NameObject("/Lang")] = TextStringObject(str(root["/Lang"]))
    dests = _sorted_destinations(writer)
    _resolve_links(writer, dests)
    _stamp(writer, PdfReader(io.BytesIO(stamp)))
    _add_outline(writer, outline, dests)
    writer._root_object[NameObject("/PageMode")] = NameObject("/UseOutlines")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _sorted_destinations(writer: PdfWriter) -> dict[str, Any]:
    """The named destinations of every part, sorted by name as a PDF name tree requires."""
    root = writer.get_named_dest_root()
    pairs: dict[str, Any] = {}
    for i in range(0, len(root) - 1, 2):
        pairs.setdefault(str(root[i]), root[i + 1])
    root.clear()
    for name in sorted(pairs):
        root.extend([TextStringObject(name), pairs[name]])
    return {name: value.get_object() for name, value in pairs.items()}


def _resolve_links(writer: PdfWriter, dests: dict[str, Any]) -> None:
    """`xref:<anchor>` links (into another part) become links to the named destination."""
    for page in writer.pages:
        annots = page.get("/Annots")
        if not annots:
            continue
        keep = ArrayObject()
        for ref in annots.get_object():
            annot = ref.get_object()
            action = annot.get("/A")
            target = str(action.get("/URI", "")) if isinstance(action, DictionaryObject) else ""
            if target.startswith(XREF):
                name = target[len(XREF):]
                if name not in dests:
                    logger.debug("dropping a link to the unknown anchor %s", name)
                    continue
                del annot[NameObject("/A")]
                annot[NameObject("/Dest")] = TextStringObject(name)
            keep.append(ref)
        page[NameObject("/Annots")] = keep


def _stamp(writer: PdfWriter, stamp: PdfReader) -> None:
    """Lay the stamp's page i (its "Page i of n") over page i, as a form XObject drawn after
    the page's own content, which is wrapped in q/Q and never parsed (pypdf's merge_page
    parses every content stream, which costs seconds and hundreds of MB on a large report)."""
    if len(stamp.pages) != len(writer.pages):
        raise ValueError(f"the stamp has {len(stamp.pages)} pages for {len(writer.pages)}")
    before = writer._add_object(_stream(b"q\n"))
    after = writer._add_object(_stream(b"\nQ\nq /PageStamp Do Q\n"))
    for page, over in zip(writer.pages, stamp.pages, strict=True):
        drawn = over.get_contents()
        form = _stream(drawn.get_data() if drawn is not None else b"")
        form.update({NameObject("/Type"): NameObject("/XObject"),
                     NameObject("/Subtype"): NameObject("/Form"),
                     NameObject("/BBox"): ArrayObject(over.mediabox),
                     NameObject("/Resources"): over["/Resources"].clone(writer)})
        resources = DictionaryObject(cast(DictionaryObject, page["/Resources"].get_object()))
        xobjects = DictionaryObject(
            cast(DictionaryObject, resources.get("/XObject", DictionaryObject()).get_object()))
        xobjects[NameObject("/PageStamp")] = writer._add_object(form)
        resources[NameObject("/XObject")] = xobjects
        page[NameObject("/Resources")] = resources
        raw = page.raw_get("/Contents")
        contents = raw.get_object()
        if isinstance(contents, ArrayObject):
            own = list(contents)
        else:
            own = [raw if isinstance(raw, IndirectObject) else writer._add_object(contents)]
        page[NameObject("/Contents")] = ArrayObject([before, *own, after])


def _stream(data: bytes) -> DecodedStreamObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream


def _add_outline(writer: PdfWriter, outline: Outline, dests: dict[str, Any]) -> None:
    index = {page.indirect_reference.idnum: i for i, page in enumerate(writer.pages)
             if page.indirect_reference is not None}
    parents: dict[int, Any] = {}
    for level, title, name in outline:
        dest = dests.get(name)
        page = index.get(getattr(dest[0], "idnum", -1)) if dest is not None else None
        if dest is None or page is None:
            logger.debug("no destination for the outline entry %s", name)
            continue
        item = writer.add_outline_item(title=title, page_number=page,
                                       parent=parents.get(level - 1),
                                       fit=Fit.xyz(left=float(dest[2]), top=float(dest[3])))
        parents = {k: v for k, v in parents.items() if k < level}
        parents[level] = item
