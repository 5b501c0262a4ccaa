"""Links between file URIs and what Label Studio serves, page rendering and storage, hidden folders."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from devstack.samples import sample_documents
from include.adapters.extract.pages import render_pages
from include.adapters.label_studio.storage import ls_link, source_uri
from include.core.labels import labeling_config_xml
from include.workflows.ingest import list_source
from include.workflows.source_pages import page_uri, store_pages


def _sample(name: str) -> bytes:
    return next(d.data for d in sample_documents() if d.name == name)


def test_a_local_file_under_the_document_root_links_into_ls_and_back(tmp_path: Path) -> None:
    doc = tmp_path / "inbox" / "a b#1.pdf"
    link = ls_link(doc.as_uri(), tmp_path)
    assert link == "/data/local-files/?d=inbox/a%20b%231.pdf"
    assert source_uri(link, tmp_path) == doc.as_uri()
    assert source_uri(f"http://ls.example:8080{link}", tmp_path) == doc.as_uri()
    assert ls_link(Path("/elsewhere/a.pdf").as_uri(), tmp_path) is None
    assert ls_link(doc.as_uri(), None) is None


def test_s3_uris_pass_through_and_links_cannot_escape_the_root(tmp_path: Path) -> None:
    assert ls_link("s3://bucket/in/a.pdf", None) == "s3://bucket/in/a.pdf"
    assert source_uri("s3://bucket/in/a.pdf", None) == "s3://bucket/in/a.pdf"
    assert source_uri("/data/local-files/?d=../../etc/passwd", tmp_path) is None
    assert source_uri("/data/local-files/?d=", tmp_path) is None
    assert source_uri("https://example.com/a.pdf", tmp_path) is None
    assert source_uri(42, tmp_path) is None


def test_pdf_and_image_pages_render_as_png() -> None:
    pdf = render_pages(_sample("report.pdf"), "pdf", [1, 2, 99])
    assert set(pdf) == {1}  # the sample report has one page; pages it lacks are left out
    with Image.open(io.BytesIO(pdf[1])) as page:
        assert page.format == "PNG" and page.width > 800
    png = render_pages(_sample("scan.png"), "image", [1])
    assert png[1][:8] == b"\x89PNG\r\n\x1a\n"
    assert render_pages(b"a,b\n1,2\n", "csv", [1]) == {}


def test_pages_are_stored_once_beside_the_document_and_not_ingested(tmp_path: Path) -> None:
    doc = tmp_path / "report.pdf"
    doc.write_bytes(_sample("report.pdf"))
    sha = "a" * 64
    stored = store_pages(doc.as_uri(), sha, "pdf", doc.read_bytes(), {1})
    page = tmp_path / ".nerloop" / "pages" / sha / "page-1.png"
    assert stored == {1: page.as_uri()} and page.is_file()
    assert page_uri("s3://b/in/report.pdf", sha, 2) == f"s3://b/in/.nerloop/pages/{sha}/page-2.png"
    mtime = page.stat().st_mtime_ns
    assert store_pages(doc.as_uri(), sha, "pdf", b"not read again", {1}) == stored
    assert page.stat().st_mtime_ns == mtime
    assert [o.name for o in list_source(str(tmp_path))] == ["report.pdf"]


def test_an_unwritable_folder_costs_the_pages_not_the_document(tmp_path: Path) -> None:
    blocker = tmp_path / ".nerloop"
    blocker.write_text("a file where the pages folder would go")
    assert store_pages((tmp_path / "r.pdf").as_uri(), "b" * 64, "pdf", _sample("report.pdf"), {1}) == {}


def test_one_labeling_config_shows_the_page_beside_the_text_without_requiring_it() -> None:
    config = labeling_config_xml()
    assert 'valueList="$page_images"' in config and 'value="$text"' in config
    assert 'value="$page_images"' not in config  # a `value` would make LS require the key at import
