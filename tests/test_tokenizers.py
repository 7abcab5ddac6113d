"""Tokenizers: pieces and their characters, pairs and truncation as transformers does them, normalisation, facts,
training within the corpus's limits, held-out measures, within-word attention, the HTML view, and the page."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from tokenizers import Tokenizer

from tests.pages import (
    PAGES,
    TIMEOUT_S,
    assert_clean,
    count_with,
    english_left,
    labelled,
    messages,
    run_page,
    table_with,
    with_text,
)
from xray.rendering.tokens import measure_bars, segmentation_html, side_by_side_html
from xray.results import Result
from xray.techniques.attention import compute_attention
from xray.techniques.tokenizers import (
    longest_first,
    parse_words,
    segment_text,
    split_word_attention,
    word_pieces,
)
from xray.text import POP_DIRECTIONAL_ISOLATE, isolate
from xray.tokenization.facts import surface, tokenizer_facts
from xray.tokenization.measures import TokenizerComparison, measure, pieces_per_word, word_spans
from xray.tokenization.sources import algorithm, folder_tokenizer, model_tokenizer, normaliser_steps
from xray.tokenization.training import (
    ALGORITHMS,
    TrainingCorpus,
    curve_sizes,
    split_corpus,
    train_tokenizers,
)

PAGE = "9_Tokenizers.py"
PREFIXES = ("", "un", "re", "pre", "over")
STEMS = ("walk", "talk", "play", "read", "build", "cross", "jump", "think")
ENDINGS = ("", "s", "ed", "ing", "er", "able", "ably")
TEXT = "The animal didn't cross the street."
SENTENCES = [
    "The animal didn't cross the street because it was too tired.",
    "She sat on the river bank and read a letter from her bank about the loan.",
    "The trophy didn't fit in the suitcase because it was too big.",
    "The keys to the old wooden cabinet are on the kitchen table.",
    "The film was not good, but the music was not bad at all.",
    "Hello world, the animal is crossing the street again.",
    "Her letter about the loan was read by the bank on the river.",
    "The big trophy is in the cabinet on the kitchen table.",
]


@pytest.fixture(scope="module")
def wordpiece(tiny_folders):
    """The tiny BERT's WordPiece tokenizer, read from its folder (lower-cases, adds [CLS] and [SEP], max 64)."""
    return folder_tokenizer(str(tiny_folders["bert"]))


@pytest.fixture(scope="module")
def byte_level(tiny_folders):
    return folder_tokenizer(str(tiny_folders["gpt2"]))


@pytest.fixture(scope="module")
def corpus() -> TrainingCorpus:
    """The sentences above, then lines of made-up words that share prefixes, stems and endings."""
    words = [prefix + stem + ending for prefix in PREFIXES for stem in STEMS for ending in ENDINGS]
    order = np.random.default_rng(0).permutation(len(words))
    lines = [" ".join(words[index] for index in order[start : start + 8]) for start in range(0, len(words), 8)]
    return split_corpus("tiny news", SENTENCES * 3 + lines, held_out_every=4)


@pytest.fixture(scope="module")
def trained(corpus):
    return train_tokenizers(corpus, corpus.limits.smallest + 40)


def test_every_piece_spans_its_own_characters_and_words_start_where_a_word_does(wordpiece):
    segmentation = segment_text(wordpiece, TEXT)
    for piece in segmentation.pieces:
        if not piece.special:
            assert surface(piece.token) == TEXT[piece.start : piece.end].lower()
    starts = [TEXT[piece.start : piece.end] for piece in segmentation.pieces if piece.word_start]
    assert starts == ["The", "animal", "didn", "cross", "the", "street", "."]
    assert [(word.text, segmentation.pieces_of(word)) for word in segmentation.split_words] == [
        ("didn't", ["didn", "'", "t"])
    ]
    assert isolate("didn't") + " → " + " ".join(map(isolate, ["didn", "'", "t"])) in segmentation.summary()


def test_special_tokens_are_added_around_the_text_and_belong_to_no_text(wordpiece):
    segmentation = segment_text(wordpiece, TEXT)
    assert segmentation.special_tokens == ["[CLS]", "[SEP]"]
    assert segmentation.pieces[0].special and segmentation.pieces[-1].special
    assert not any(piece.special for piece in segmentation.pieces[1:-1])


@pytest.mark.integration
@pytest.mark.parametrize(
    ("text", "text_b"),
    [
        ("The animal didn't cross the street.", "It was too tired."),
        ("one two three four five six seven eight nine ten eleven", "alpha beta"),
        ("a b c d e f g h", "i j k l m n o p q"),
        ("a b c d e f g h i j k l m n", None),
    ],
)
def test_pairs_and_truncation_match_transformers(minilm, text, text_b):
    source = replace(model_tokenizer(minilm), max_length=12)
    segmentation = segment_text(source, text, text_b)
    expected = minilm.tokenizer(text, text_b, truncation=True, max_length=12)
    assert [piece.id for piece in segmentation.pieces] == expected["input_ids"]
    assert [piece.type_id for piece in segmentation.pieces] == expected["token_type_ids"]
    full = len(minilm.tokenizer(text, text_b)["input_ids"])
    assert len(segmentation.cut) == full - len(expected["input_ids"])
    assert segmentation.truncated == bool(segmentation.cut) and (not segmentation.cut or segmentation.notices)
    if text_b:
        second = [piece for piece in segmentation.pieces if piece.sequence == 1]
        assert second and all(piece.type_id == 1 for piece in second)
        assert all(piece.type_id == 0 for piece in segmentation.pieces if piece.sequence == 0)


@pytest.mark.parametrize("budget", [0, 1, 5, 10, 13, 30])
@pytest.mark.parametrize(("first", "second"), [(3, 4), (10, 2), (7, 7), (0, 9)])
def test_longest_first_fills_the_budget_cutting_the_longer_first(first, second, budget):
    kept = longest_first(first, second, budget)
    assert sum(kept) == min(first + second, budget)
    assert kept[0] <= first and kept[1] <= second
    if first + second > budget and first != second:
        assert abs(kept[0] - kept[1]) <= abs(first - second), "the longer one is cut first"


def test_unknown_pieces_are_flagged_and_byte_level_needs_none(wordpiece, byte_level):
    segmentation = segment_text(wordpiece, "hello жж world")
    assert [piece.token for piece in segmentation.pieces if piece.unknown] == ["[UNK]"]
    assert segmentation.unknown_count == 1 and any("unknown" in notice for notice in segmentation.notices)
    assert byte_level.unknown_id is None
    assert segment_text(byte_level, "hello жж world").unknown_count == 0


@pytest.mark.integration
def test_normalisation_is_shown_before_and_after(minilm):
    source = model_tokenizer(minilm)
    segmentation = segment_text(source, "Café ÜBER alles")
    assert segmentation.normalised == ("cafe uber alles",)
    assert segmentation.changes == (("Café", "cafe"), ("ÜBER", "uber"))
    assert {"lower-casing", "accent stripping (é → e)"} <= set(normaliser_steps(source))


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x01\x02"])
def test_empty_or_control_only_text_is_refused(wordpiece, text):
    with pytest.raises(ValueError, match=r"empty|only control characters"):
        segment_text(wordpiece, text)


def test_the_tokenizer_says_what_it_is(wordpiece, byte_level):
    facts = tokenizer_facts(wordpiece, measure(wordpiece, SENTENCES))
    assert facts.algorithm == "WordPiece" and facts.max_length == 64
    assert {"[CLS]", "[SEP]", "[UNK]"} <= set(facts.special_tokens)
    assert "##" in facts.marker and "lower-casing" in facts.normalisation
    lengths = facts.longest["characters"].tolist()
    assert lengths == sorted(lengths, reverse=True)
    assert lengths[0] == max(len(surface(entry)) for entry in wordpiece.tokenizer.get_vocab())
    counts = facts.most_frequent["count"].tolist()
    assert counts == sorted(counts, reverse=True) and facts.most_frequent["entry"][0] == "the"
    assert not set(facts.special_tokens) & set(facts.table()["entry"])
    assert (
        algorithm(byte_level) == "byte-level BPE"
        and "Ġ" in tokenizer_facts(byte_level, measure(byte_level, SENTENCES)).marker
    )


@pytest.mark.integration
def test_minilm_is_a_lower_casing_wordpiece_of_30522_entries(minilm):
    source = model_tokenizer(minilm)
    facts = tokenizer_facts(source, measure(source, SENTENCES))
    assert (facts.algorithm, facts.vocab_size, facts.max_length) == ("WordPiece", 30522, 512)
    assert "lower-casing" in facts.normalisation and "[MASK]" in facts.special_tokens


def test_pieces_per_word_counts_the_tokens_each_word_overlaps():
    words = np.array([[0, 5], [6, 10], [10, 11]])
    tokens = np.array([[0, 2], [2, 5], [5, 5], [6, 11]])  # an empty token overlaps nothing; one spans two words
    assert pieces_per_word(words, tokens).tolist() == [2, 1, 1]
    assert word_spans("didn't stop.").tolist() == [[0, 6], [7, 11], [11, 12]]


def test_measures_count_tokens_split_words_and_unknowns(wordpiece):
    texts = ["hello world", "the animal didn't жж"]
    measures = measure(wordpiece, texts)
    assert (measures.words, measures.tokens, measures.unknown_tokens) == (6, 8, 1)
    assert measures.split_words == 1  # didn't
    assert measures.fertility == pytest.approx(8 / 6) and measures.unknown_rate == pytest.approx(1 / 8)
    assert measures.tokens_per_text == 4 and measures.token_counts.sum() == measures.tokens


def test_training_at_the_smallest_size_keeps_exactly_the_alphabet(corpus):
    smallest = corpus.limits.smallest
    trained = train_tokenizers(corpus, smallest)
    assert trained.get("WordPiece").vocab_size == smallest
    assert all(source.vocab_size >= corpus.limits.alphabet for source in trained.tokenizers)


def test_a_vocabulary_outside_the_corpus_limits_is_refused_with_what_to_pick(corpus):
    limits = corpus.limits
    with pytest.raises(ValueError, match=f"Pick at least {limits.smallest:,}"):
        train_tokenizers(corpus, limits.smallest - 1)
    with pytest.raises(ValueError, match=f"Pick at most {limits.largest:,}"):
        train_tokenizers(corpus, limits.largest + 1)


def test_training_stops_where_progress_raises(corpus):
    class Cancelled(Exception):
        pass

    seen = []

    def progress(done: int, total: int, stage: str) -> None:
        seen.append(stage)
        if done == 1:
            raise Cancelled

    with pytest.raises(Cancelled):
        train_tokenizers(corpus, corpus.limits.smallest, progress)
    assert seen == ["BPE", "WordPiece"]


def test_each_trained_tokenizer_keeps_its_size_or_says_why_not(corpus, trained):
    assert [source.name for source in trained.tokenizers] == [f"{name} {trained.requested:,}" for name in ALGORITHMS]
    short = [source.name.split()[0] for source in trained.tokenizers if source.vocab_size < trained.requested]
    assert [notice.split()[0] for notice in trained.shortfalls()] == short
    largest = train_tokenizers(corpus, corpus.limits.largest)
    assert "Unigram" in " ".join(largest.shortfalls()), "Unigram runs out of pieces on a tiny corpus"


def test_a_trained_tokenizer_json_reads_back_the_same(trained, tmp_path):
    for source in trained.tokenizers:
        reread = Tokenizer.from_str(source.to_json())
        assert reread.encode(TEXT).ids == source.tokenizer.encode(TEXT).ids
    (tmp_path / "tokenizer.json").write_text(trained.get("WordPiece").to_json(), encoding="utf-8")
    folder = folder_tokenizer(str(tmp_path))
    assert folder.tokenizer.encode(TEXT).tokens == trained.get("WordPiece").tokenizer.encode(TEXT).tokens


def test_trained_tokenizers_are_kept_by_their_settings_and_read_back_after_a_restart(corpus, tmp_path, monkeypatch):
    import xray.tokenization.training as training

    size = corpus.limits.smallest + 40
    first = train_tokenizers(corpus, size, root=tmp_path)
    folder = tmp_path / "tokenizers" / training.kept_name(corpus, size)
    assert not first.reused and sorted(path.name for path in folder.iterdir()) == [
        "BPE.json",
        "Unigram.json",
        "WordPiece.json",
        "about.json",
    ]
    assert not list((tmp_path / "tokenizers").glob(".*")), "published by one rename, nothing partial left behind"
    for name in ALGORITHMS:  # what is on disk is what was trained
        on_disk = Tokenizer.from_file(str(folder / f"{name}.json"))
        assert on_disk.get_vocab() == first.get(name).tokenizer.get_vocab()

    def no_training(*_):
        raise AssertionError("trained again")

    monkeypatch.setattr(training, "_untrained", no_training)  # a restart: the kept tokenizers, no training
    again = train_tokenizers(corpus, size, root=tmp_path)
    assert again.reused and again.seconds == pytest.approx(first.seconds)
    assert [source.fingerprint for source in again.tokenizers] == [source.fingerprint for source in first.tokenizers]
    assert [source.name for source in again.tokenizers] == [source.name for source in first.tokenizers]
    with pytest.raises(AssertionError, match="trained again"):  # another size is other settings
        train_tokenizers(corpus, size + 1, root=tmp_path)
    other = split_corpus("tiny news", [*corpus.training, "one more line"], held_out_every=4)
    assert training.kept_name(other, size) != training.kept_name(corpus, size)

    (folder / "Unigram.json").write_text("{", encoding="utf-8")  # a damaged folder is trained again, not shown
    with pytest.raises(AssertionError, match="trained again"):
        train_tokenizers(corpus, size, root=tmp_path)


def test_held_out_measures_see_unknown_characters_and_rank_the_tokenizers(corpus, trained):
    comparison = TokenizerComparison(
        corpus.name, tuple(measure(source, ["the zebra жж"]) for source in trained.tokenizers)
    )
    assert all(measures.unknown_tokens >= 1 for measures in comparison.measures)
    table = comparison.table()
    lowest = table.loc[table["tokens per word"].idxmin(), "tokenizer"]
    assert comparison.verdicts()[0].startswith(f"Fewest tokens per word on held-out tiny news: {lowest}")
    assert any("unknown" in verdict for verdict in comparison.verdicts())


def test_curve_sizes_halve_down_to_the_smallest():
    assert curve_sizes(8_000, 1_500) == (2_000, 4_000, 8_000)
    assert curve_sizes(30_000, 150) == (3_750, 7_500, 15_000, 30_000)


def test_a_folder_without_tokenizer_files_is_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="not a folder"):
        folder_tokenizer(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="holds no tokenizer"):
        folder_tokenizer(str(tmp_path))
    (tmp_path / "vocab.txt").write_text("[UNK]\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"tokenizer_config\.json"):
        folder_tokenizer(str(tmp_path))


def _attention_within_words(segmentation, inside: bool) -> np.ndarray:
    """(2, 3, tokens, tokens): each token attends evenly to its own word's pieces (inside) or only to itself."""
    count = len(segmentation.pieces)
    matrix = np.eye(count)
    if inside:
        for word in segmentation.split_words:
            block = np.ix_(word.positions, word.positions)
            matrix[block] = 1 / len(word.positions)
    return np.broadcast_to(matrix, (2, 3, count, count))


def test_split_word_attention_measures_what_pieces_give_their_own_word(wordpiece):
    segmentation = segment_text(wordpiece, "the animal didn't cross")
    inside = split_word_attention(segmentation, _attention_within_words(segmentation, inside=True))
    assert inside.words == ("didn't",) and inside.pieces == (("didn", "'", "t"),)
    np.testing.assert_allclose(inside.within, 2 / 3)
    np.testing.assert_allclose(inside.even, 2 / len(segmentation.pieces))
    alone = split_word_attention(segmentation, _attention_within_words(segmentation, inside=False))
    np.testing.assert_allclose(alone.within, 0.0)
    with pytest.raises(ValueError, match="another text or tokenizer"):
        split_word_attention(segmentation, np.ones((2, 3, 4, 4)))


def test_split_word_attention_reads_the_attention_pages_run(tiny, wordpiece):
    attention = compute_attention(tiny["bert"], TEXT)
    split = split_word_attention(segment_text(model_tokenizer(tiny["bert"]), TEXT), attention.main.attentions)
    assert split.words == ("didn't",) and split.within.shape == (1, 2)
    assert np.all((split.within >= 0) & (split.within <= 1))
    assert "layer 1" in split.summary(1) and list(split.table().columns[-2:]) == ["layer 0", "layer 1"]


def test_words_are_cut_by_every_tokenizer_side_by_side(wordpiece, byte_level):
    table = word_pieces([wordpiece, byte_level], parse_words("didn't, hello,, didn't"))
    assert table["word"].tolist() == ["didn't", "hello"]
    assert table.loc[0, wordpiece.name] == "didn · ' · t (3)"
    with pytest.raises(ValueError, match="Type one or more words"):
        parse_words(" , \n ")


def test_the_html_escapes_everything_and_links_each_piece_both_ways(wordpiece):
    text = "<b>hello</b> & 'world'"
    segmentation = segment_text(wordpiece, text, "the animal")
    view = segmentation_html(segmentation, "view-1")
    assert "<b>hello" not in view and "<script" not in view
    assert text in html.unescape(re.sub(r"<[^>]+>", "", view)), "every character is shown, escaped"
    for index in range(len(segmentation.pieces)):
        assert f".view-1:has(.p{index}:hover) .p{index}" in view
    assert view.count('class="piece ') == len(segmentation.pieces) and "seq1" in view
    assert html.escape("[CLS]") in side_by_side_html([segmentation], "all")
    with pytest.raises(ValueError, match="letters, digits and dashes"):
        segmentation_html(segmentation, "bad key}")


def test_pieces_and_text_are_bidi_isolated_and_pieces_listed_left_to_right(wordpiece):
    text = "the animal שלום"
    segmentation = segment_text(wordpiece, text, "ذهب الولد")
    view = segmentation_html(segmentation, "view-1")
    chips = re.findall(r'<span class="piece [^"]*" title="[^"]*"><bdi>([^<]*)</bdi><sub>(\d+)</sub></span>', view)
    assert [(html.unescape(token), int(number)) for token, number in chips] == [
        (piece.token, piece.id) for piece in segmentation.pieces
    ]
    assert view.count('<div class="pieces" dir="ltr">') == 1
    texts = re.findall(r'<div class="text"><b>Text [AB]</b> · <bdi>(.*?)</bdi></div>', view)
    assert [re.sub(r"<[^>]+>", "", shown) for shown in texts] == [text, "ذهب الولد"]
    alone = re.findall(
        r'<div class="text" dir="auto">(.*?)</div>', segmentation_html(segment_text(wordpiece, text), "v")
    )
    assert [re.sub(r"<[^>]+>", "", shown) for shown in alone] == [text]
    others = side_by_side_html([segmentation], "all")
    assert f"<b><bdi>{segmentation.tokenizer}</bdi></b>" in others and others.count("<bdi>") == len(chips) + 1


def test_words_and_pieces_quoted_in_the_summary_are_isolated(wordpiece):
    summary = segment_text(wordpiece, "didn't שלום").summary()
    quoted = re.findall(r"\u2068([^\u2069]*)\u2069", summary)
    assert quoted == ["didn't", "didn", "'", "t"]
    assert summary.count(POP_DIRECTIONAL_ISOLATE) == len(quoted)


def test_every_result_offers_table_and_json(wordpiece, corpus, trained):
    segmentation = segment_text(wordpiece, TEXT)
    comparison = TokenizerComparison(
        corpus.name, tuple(measure(source, corpus.held_out) for source in trained.tokenizers)
    )
    results = [
        segmentation,
        split_word_attention(segmentation, _attention_within_words(segmentation, inside=True)),
        tokenizer_facts(wordpiece, measure(wordpiece, SENTENCES)),
        comparison,
    ]
    for result in results:
        assert isinstance(result, Result) and len(result.table()) > 0 and result.to_json().startswith("{")
    assert measure_bars(comparison.table()).to_dict()["hconcat"]


def _page_link(app: AppTest, label: str = "See every head's attention on this text on the Attention page"):
    return labelled(app.get("page_link"), label).proto


@pytest.mark.app
@pytest.mark.integration
def test_the_page_shows_how_minilm_cuts_the_default_sentence():
    app = run_page(PAGE)
    assert_clean(app)
    shown = " ".join(markdown.value for markdown in app.markdown)
    assert "didn't → didn ' t" in shown.replace("\u2068", "").replace(POP_DIRECTIONAL_ISOLATE, "")
    assert count_with(app.html, 'class="xray-tokens-model"') == 1
    link = _page_link(app)
    assert link.page == "Attention" and "text=The+animal+didn%27t" in link.query_string
    assert "Train three tokenizers" in messages(app)


@pytest.mark.app
@pytest.mark.integration
def test_the_page_shows_a_sentence_pair_with_its_type_ids():
    app = run_page(PAGE, text_b="It was too tired.")
    assert_clean(app)
    assert "seq1" in with_text(app.html, 'class="xray-tokens-model"').value
    assert any("sentence pair" in caption.value for caption in app.caption)
    pieces = table_with(app, "sentence", "type id")
    assert set(pieces["sentence"]) == {"A", "B", "special"}
    assert pieces.loc[pieces["sentence"] == "B", "type id"].eq(1).all()


@pytest.mark.app
@pytest.mark.integration
@pytest.mark.parametrize(("text", "expected"), [("   ", "empty"), ("\x01\x02\x03", "only control characters")])
def test_empty_or_control_only_text_gets_one_short_message(text, expected):
    app = run_page(PAGE)
    app.sidebar.text_area(key="text").input(text).run()
    assert not app.exception
    assert not app.error and len(app.warning) == 1
    assert len(with_text(app.warning, expected).value) < 150


@pytest.mark.app
@pytest.mark.integration
def test_the_page_trains_three_tokenizers_and_compares_them(tmp_path, tiny_folders):
    app = run_page(PAGE, **{"tokenizers.vocabulary": "1000"})
    app.button(key="tokenizers.training.button").click().run()
    assert_clean(app)
    comparison = next(frame.value for frame in app.dataframe if "tokens per word" in frame.value.columns)
    assert comparison["tokenizer"].tolist() == [
        "all-MiniLM-L6-v2 (embedded)",
        "BPE 1,000",
        "WordPiece 1,000",
        "Unigram 1,000",
    ]
    assert (comparison["tokens per word"] >= 1).all() and (comparison["unknown rate"] == 0).all()
    labels = [button.label for button in app.get("download_button")]
    assert {"BPE 1,000", "WordPiece 1,000", "Unigram 1,000", "Comparison (CSV)", "PNG", "SVG"} <= set(labels)
    assert count_with(app.html, 'class="xray-tokens-all"') == 1

    app.text_input(key="tokenizers.folder").input(str(tmp_path)).run()
    assert "holds no tokenizer" in messages(app)
    app.text_input(key="tokenizers.folder").input(str(tiny_folders["bert"])).run()
    assert not app.exception and not app.warning
    comparison = next(frame.value for frame in app.dataframe if "tokens per word" in frame.value.columns)
    assert comparison["tokenizer"].tolist()[-1] == "bert"


@pytest.mark.app
@pytest.mark.integration
def test_the_page_speaks_turkish_with_turkish_numbers():
    app = run_page(PAGE, lang="tr", **{"tokenizers.vocabulary": "1000"})
    assert_clean(app)
    assert app.title[0].value == "Tokenleştiriciler"
    assert app.subheader[1].value == "Bir kelimeyi bölmek modele ne yapar"
    assert app.number_input(key="tokenizers.vocabulary").label == "Sözcük dağarcığı boyutu"
    assert "“Üç tokenleştirici eğit” düğmesine tıklayın" in messages(app)
    shown = " ".join(markdown.value for markdown in app.markdown)
    assert re.search(r"\d+\. katmanda .* ortalama %\d+ kadarını .* \d+,\d katıdır", shown)
    assert "30.522 öğelik bir WordPiece tokenleştiricisi; modeli en çok 512 token okur" in shown
    assert "küçük harfe çevirme" in shown  # a normalisation step the cached facts keep in English
    pieces = table_with(app, "cümle", "tür kimliği")
    assert "özel" in set(pieces["cümle"])
    assert _page_link(app, "Bu metinde her başlığın dikkatini Dikkat sayfasında görün").page == "Attention"
    assert english_left(app) == []
    dotted = table_with(app, "kelime", "normalleştiriciden sonra")  # the Turkish section, before any training
    assert dotted.set_index("kelime").loc["Iğdır", "normalleştiriciden sonra"] == "igdır"

    app.button(key="tokenizers.training.button").click().run()
    assert_clean(app)
    assert english_left(app) == []
    scores = table_with(app, "sınır F1")
    assert len(scores) == 4 and "sınır F1" in scores.columns  # the model's tokenizer and the three trained
    verdicts = " ".join(markdown.value for markdown in app.markdown)
    assert "BPE 1,000 bu kelimelerin her birini Türkçenin yazdığı gibi koruyor" in verdicts
    comparison = table_with(app, "kelime başına token", "kaynak")
    assert set(comparison["kaynak"]) == {"model", "eğitilmiş"}
    fewest = r"Ayrılmış BBC News metinlerinde kelime başına en az token: .* \(\d,\d\d; kelimelerin %\d+ kadarı"
    assert re.search(fewest, verdicts)


@pytest.mark.app
@pytest.mark.integration
def test_a_vocabulary_too_small_for_the_alphabet_gets_a_clear_message():
    app = run_page(PAGE, **{"tokenizers.vocabulary": "50"})
    assert not app.exception
    assert re.search(r"cannot hold the alphabet .* Pick at least \d", messages(app))


@pytest.mark.app
@pytest.mark.integration
def test_a_training_stopped_before_it_finished_says_so_and_waits_for_a_click():
    app = AppTest.from_file(str(PAGES / PAGE), default_timeout=TIMEOUT_S)
    app.session_state["tokenizers.training.running"] = 4_000
    app.run()
    assert_clean(app)
    assert "stopped before it finished" in messages(app) and "Train three tokenizers" in messages(app)
    assert not any("Trained in" in caption.value for caption in app.caption)


def test_the_focus_word_s_pieces_are_framed_and_the_legend_says_so(wordpiece):
    segmentation = segment_text(wordpiece, TEXT)
    start = TEXT.index("didn't")
    framed = segmentation.pieces_covering(start, start + len("didn't"))
    assert [segmentation.pieces[index].token for index in framed] == ["didn", "'", "t"]
    view = segmentation_html(segmentation, "k", (start, start + len("didn't")))
    assert len(re.findall(r'class="piece [^"]* focus"', view)) == 3 and "the focus token" in view
    assert "the focus token" not in segmentation_html(segmentation, "k")
