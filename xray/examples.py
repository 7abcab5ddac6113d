"""The teaching examples of the sidebar's picker: each a sentence and the word a class should look at.

The key word becomes the sidebar's focus token when the example is picked (see :mod:`xray.focus`), so every page
opens on the word the example is about: *it* for coreference, *bank* for word sense.
"""

from __future__ import annotations

from dataclasses import dataclass

from xray.translation import N_


@dataclass(frozen=True)
class TeachingExample:
    """name: the picker's label (English, marked for translation: the picker shows it translated); text: the
    sentence; key_word: the word of ``text`` the example is about (it must occur in ``text`` as a whole word; its
    first occurrence is the focus)."""

    name: str
    text: str
    key_word: str


EXAMPLES: tuple[TeachingExample, ...] = (
    TeachingExample(N_("Coreference"), "The animal didn't cross the street because it was too tired.", "it"),
    TeachingExample(N_("Word sense (river bank)"), "We sat on the bank of the river.", "bank"),
    TeachingExample(N_("Topic (sports)"), "The referee sent off the captain and the crowd booed.", "referee"),
    TeachingExample(
        N_("Word sense (two banks)"),
        "She sat on the river bank and read a letter from her bank about the loan.",
        "bank",
    ),
    TeachingExample(N_("Winograd schema"), "The trophy didn't fit in the suitcase because it was too big.", "it"),
    TeachingExample(
        N_("Subject-verb agreement"), "The keys to the old wooden cabinet are on the kitchen table.", "are"
    ),
    TeachingExample(N_("Negation"), "The film was not good, but the music was not bad at all.", "good"),
    TeachingExample(
        N_("Turkish: one word, many suffixes"),
        "Çekoslovakyalılaştıramadıklarımızdan mısınız?",
        "Çekoslovakyalılaştıramadıklarımızdan",
    ),
    TeachingExample(
        N_("Turkish: dotted and dotless i"), "Iğdır'dan gelen kız, İstanbul'daki ılık akşamı çok sevdi.", "Iğdır'dan"
    ),
)
"""The last two are Turkish, for the Tokenizers page: how an English tokenizer cuts an agglutinative word, and how
its lower-casing turns I into i where Turkish writes ı (the other pages then say the model reads English only)."""
DEFAULT_EXAMPLE = EXAMPLES[0]


def example_named(name: str) -> TeachingExample:
    """The example called ``name``; ValueError naming the choices otherwise."""
    for example in EXAMPLES:
        if example.name == name:
            return example
    raise ValueError(f"No teaching example is called {name!r}; pick one of: {', '.join(e.name for e in EXAMPLES)}.")


def example_for_text(text: str) -> TeachingExample | None:
    """The example whose sentence is exactly ``text`` (surrounding whitespace aside), or None."""
    stripped = text.strip()
    return next((example for example in EXAMPLES if example.text == stripped), None)
