"""The site builds strict, has every page of the nav, and the README stays a short front page."""

from __future__ import annotations

import re

import yaml

from tests._support.docs import DOCS, README, ROOT


def _nav_pages() -> list[str]:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    return [next(iter(entry.values())) for entry in config["nav"]]


def test_the_site_builds_strict_without_a_warning(built_site):
    assert "WARNING" not in built_site.log, built_site.log
    assert (built_site.path / "index.html").is_file()


def test_every_page_is_in_the_nav_and_built(built_site):
    pages = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    assert sorted(_nav_pages()) == pages
    for page in pages:
        html = built_site.path / ("index.html" if page == "index.md" else page.removesuffix(".md") + "/index.html")
        assert html.is_file(), page


def test_the_api_reference_renders_the_public_api(built_site):
    html = (built_site.path / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("nethical_otel.configure", "nethical_otel.instrument_detector", "AlertManager", "FlamegraphProfiler"):
        assert name in html, name


def test_the_site_loads_nothing_from_other_hosts(built_site):
    """Machines without internet (CI among them) must render it whole: no fonts, scripts or styles from a CDN."""
    for page in built_site.path.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        external = re.findall(r'<(?:link|script|img|iframe)\b[^>]*\b(?:href|src)="(?:https?:)?//[^"]*"', html)
        assert not external, (page, external)
    for stylesheet in built_site.path.rglob("*.css"):
        css = stylesheet.read_text(encoding="utf-8")
        external = re.findall(r"@import[^;]*|url\(\s*['\"]?(?:https?:)?//[^)]*\)", css)
        assert not external, (stylesheet, external)


def test_the_readme_is_one_page_with_the_two_commands_first():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["./scripts/demo", "./scripts/test"]
    assert text.index("./scripts/demo") < text.index("## ")


def test_the_readme_links_into_pages_that_exist():
    links = re.findall(r"\]\((docs/[^)#]+)", README.read_text(encoding="utf-8"))
    assert links
    for link in links:
        assert (ROOT / link).is_file(), link


def test_no_list_is_read_as_a_paragraph(built_site):
    """MkDocs' Markdown needs a blank line before a list (GitHub's does not): a list without one becomes text."""
    for page in built_site.path.rglob("*.html"):
        for paragraph in re.findall(r"<p>(.*?)</p>", page.read_text(encoding="utf-8"), flags=re.S):
            assert not re.search(r"\n\s*(?:[-*]|\d+\.) ", paragraph), f"{page}: a list read as text: {paragraph[:200]}"


def test_nested_list_items_are_indented_four_spaces():
    """MkDocs' Markdown nests a list item only at four spaces; at two or three it joins the outer list."""
    for path in [README, *DOCS.rglob("*.md")]:
        fenced = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            assert fenced or not re.match(r" {1,3}(?:[-*]|\d+\.) ", line), f"{path}:{number}: indent nested items by 4"
