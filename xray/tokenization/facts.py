"""What kind of tokenizer one is, in words: algorithm, size, special tokens, maximum length, normalisation,
pre-tokenisation, word marks, and its longest and most frequent vocabulary entries."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from xray.results import json_text
from xray.tokenization.measures import HeldOutMeasures
from xray.tokenization.sources import (
    TokenizerSource,
    algorithm,
    normaliser_steps,
    piece_marker,
    pre_tokeniser_steps,
)
from xray.translation import N_, _, number, translated

MARKS = re.compile(r"^(##|Ġ|▁)|</w>$")
TOP_ENTRIES = 20


def surface(entry: str) -> str:
    """A vocabulary entry without its word marks (##, Ġ, ▁, </w>)."""
    return MARKS.sub("", entry)


@dataclass(frozen=True)
class TokenizerFacts:
    """What kind of tokenizer ``name`` is.

    normalisation, pre_tokenisation: its steps, in words; marker: how a piece shows it starts or continues a word
    (each a :class:`~xray.translation.Message`, drawn translated). longest: its longest entries (entry, id,
    characters, count); most_frequent: its most frequent entries on held-out text (entry, id, count, share of tokens);
    their column names are marked for translation, and drawn translated.
    """

    name: str
    algorithm: str
    vocab_size: int
    special_tokens: tuple[str, ...]
    max_length: int | None
    normalisation: tuple[str, ...]
    pre_tokenisation: tuple[str, ...]
    marker: str
    longest: pd.DataFrame
    most_frequent: pd.DataFrame

    def summary(self) -> str:
        """Its kind, size, limit, normalisation and word marks in one paragraph, in the run's language."""
        if self.max_length:
            limit = _("its model reads at most {count} tokens").format(count=number(self.max_length, 0))
        else:
            limit = _("it has no model")
        steps = ", ".join(map(translated, self.normalisation)) or _("none, the text is kept as written")
        return _(
            "{name} is a {algorithm} tokenizer with {count} entries; {limit}. Normalisation: {steps}. Word marks: "
            "{marker}."
        ).format(
            name=self.name,
            algorithm=self.algorithm,
            count=number(self.vocab_size, 0),
            limit=limit,
            steps=steps,
            marker=translated(self.marker),
        )

    def table(self) -> pd.DataFrame:
        """The longest entries, then the most frequent ones, with a column saying which list each row is on."""
        return pd.concat(
            [self.longest.assign(list="longest"), self.most_frequent.assign(list="most frequent")], ignore_index=True
        )

    def to_json(self) -> str:
        return json_text(
            {
                "name": self.name,
                "algorithm": self.algorithm,
                "vocab_size": self.vocab_size,
                "special_tokens": self.special_tokens,
                "max_length": self.max_length,
                "normalisation": self.normalisation,
                "pre_tokenisation": self.pre_tokenisation,
                "marker": self.marker,
                "summary": self.summary(),
                "longest": self.longest.to_dict(orient="records"),
                "most_frequent": self.most_frequent.to_dict(orient="records"),
            }
        )


def tokenizer_facts(source: TokenizerSource, measures: HeldOutMeasures, top: int = TOP_ENTRIES) -> TokenizerFacts:
    """Facts about ``source``; its most frequent entries are counted in ``measures`` (the same tokenizer on
    held-out text). Special tokens are left out of both lists."""
    if measures.vocab_size != source.vocab_size:
        raise ValueError(
            _("The measures are of a tokenizer of {count} entries, not {name}.").format(
                count=number(measures.vocab_size, 0), name=source.name
            )
        )
    special = set(source.special_tokens)
    vocabulary = pd.DataFrame(
        [(entry, index) for entry, index in source.tokenizer.get_vocab().items() if entry not in special],
        columns=[N_("entry"), N_("id")],
    )
    vocabulary[N_("characters")] = vocabulary["entry"].map(lambda entry: len(surface(entry)))
    vocabulary[N_("count")] = measures.token_counts[vocabulary["id"].to_numpy()]
    longest = vocabulary.sort_values(["characters", "id"], ascending=[False, True]).head(top)
    frequent = vocabulary.sort_values(["count", "id"], ascending=[False, True]).head(top)
    share = (frequent["count"] / measures.tokens).round(4)
    frequent = frequent.assign(**{N_("share"): share}).drop(columns="characters")
    return TokenizerFacts(
        name=source.name,
        algorithm=algorithm(source),
        vocab_size=source.vocab_size,
        special_tokens=source.special_tokens,
        max_length=source.max_length,
        normalisation=normaliser_steps(source),
        pre_tokenisation=pre_tokeniser_steps(source),
        marker=piece_marker(source),
        longest=longest.reset_index(drop=True),
        most_frequent=frequent.reset_index(drop=True),
    )
