"""The label set: entity labels, their BIO tags, and the Label Studio labeling config built from them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

# from_name / to_name of the labeling config; LS results carry them.
FROM_NAME = "label"
TO_NAME = "text"
# The source page image(s) beside the text; no labels point at it.
PAGE_NAME = "page"

DEFAULT_LABELS: tuple[str, ...] = (
    "PERSON",
    "ORG",
    "LOCATION",
    "PRODUCT",
    "DATE",
    "MONEY",
    "EMAIL",
    "PHONE",
)

_COLORS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c")


def bio_tags(labels: tuple[str, ...] | list[str] = DEFAULT_LABELS) -> list[str]:
    """`O` then `B-X`, `I-X` for each label, in label order: index i is the model's output class i."""
    tags = ["O"]
    for label in labels:
        tags += [f"B-{label}", f"I-{label}"]
    return tags


def labeling_config_xml(labels: tuple[str, ...] | list[str] = DEFAULT_LABELS) -> str:
    """The LS labeling config: NER over `$text`, beside it the source page(s) the text came from.

    One config for every task. The header (`$source_title`) and the pages (`valueList="$page_images"`,
    a list of image URLs) are not data keys LS requires at import, so a task without a page (a CSV row,
    a task typed into LS) shows the text alone.
    """
    items = "\n".join(
        f"        <Label value={quoteattr(label)} background={quoteattr(_COLORS[i % len(_COLORS)])}/>"
        for i, label in enumerate(labels)
    )
    return (
        "<View>\n"
        '  <Header value="$source_title" size="5"/>\n'
        '  <View style="display: flex; align-items: flex-start; gap: 16px">\n'
        '    <View style="flex: 1; min-width: 0">\n'
        f'      <Labels name="{FROM_NAME}" toName="{TO_NAME}">\n{items}\n      </Labels>\n'
        f'      <Text name="{TO_NAME}" value="$text"/>\n'
        "    </View>\n"
        '    <View style="flex: 1; min-width: 0">\n'
        f'      <Image name="{PAGE_NAME}" valueList="$page_images" zoom="true" zoomControl="true"/>\n'
        "    </View>\n"
        "  </View>\n"
        "</View>"
    )


def labels_from_config(xml: str) -> list[str]:
    """The labels a project's labeling config declares (first <Labels> block), in order."""
    root = ET.fromstring(xml)
    block = root.find(".//Labels")
    if block is None:
        raise ValueError("labeling config has no <Labels> block")
    labels = [el.attrib["value"] for el in block.findall("Label")]
    if not labels:
        raise ValueError("labeling config declares no <Label>")
    return labels
