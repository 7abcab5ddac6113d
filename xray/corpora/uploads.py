"""Turn a user's uploaded ``.txt`` or ``.csv`` file into a :class:`Corpus`, within limits and with clear messages.

Two steps, so the app can ask which column holds the text in between:

1. :func:`read_upload` checks the raw bytes (extension, empty, size, binary content), decodes them and parses
   them into an :class:`UploadedTable`;
2. :func:`corpus_from_upload` takes the chosen text column (and an optional label column) and builds the corpus.

Every refusal is a ValueError whose message says what to do. Every change the user might not expect (an
assumed encoding, dropped rows, cut texts, removed control characters, a renamed column) comes back as a
notice: one short sentence each.

Choices worth knowing:

* Only empty cells count as missing: "NA", "None" or "null" in a cell stay text (a label "NA" is a class).
* Rows whose label is missing are dropped, with a notice (no "(missing)" class is made up).
* Labels become strings; a whole-number label read as a float (``1.0`` because another row is empty) reads "1".
* The corpus table's columns are ``text``, then the label column, then the file's other columns in file order.
  If the text comes from another column and the file also has a column named ``text``, that column is kept as
  ``text_original`` (``text_original_2`` ... where that name is taken too).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from xray.corpora.corpus import TEXT, Corpus
from xray.text import PreparedText, prepare_text
from xray.translation import N_, Message, _, counted, number

MAX_UPLOAD_BYTES = 5_000_000
MAX_ROWS = 5_000  # texts per corpus
MAX_TEXT_CHARS = 1_000  # longer texts are cut, and a notice says how many
KINDS = ("txt", "csv")
TEXT_ORIGINAL = "text_original"
INDEX_COMMAND = "python -m xray index"

_DELIMITERS = {",": N_("commas"), ";": N_("semicolons"), "\t": N_("tabs")}
_FALLBACK_ENCODING = ("cp1252", "Windows-1252 (cp1252)")
_LAST_RESORT_ENCODING = ("latin-1", "Latin-1 (ISO-8859-1)")
_BINARY_SAMPLE_BYTES = 8_192
_MAX_NON_PRINTABLE_SHARE = 0.3
_NON_PRINTABLE_BYTES = bytes(byte for byte in range(32) if byte not in b"\t\n\v\f\r") + b"\x7f"
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc, what prepare_text removes


@dataclass(frozen=True)
class UploadedTable:
    """An uploaded file, read and parsed, before the user picks its text column.

    file_name: the name the file was uploaded under ("reviews.csv").
    kind: "txt" or "csv".
    table: one row per row of the file. For "txt": one column ``text`` (str), one row per non-blank line,
        stripped. For "csv": the file's columns as pandas parsed them (str column names; only empty cells
        are missing values).
    text_columns: the columns that hold text (not numeric or boolean, mostly non-numeric values), in file order
        but with the likely text column first (one named "text", else the one with the longest texts).
    notices: one short sentence per thing the user should know about the reading (an assumed encoding,
        a delimiter other than a comma).
    """

    file_name: str
    kind: str
    table: pd.DataFrame
    text_columns: tuple[str, ...]
    notices: tuple[Message, ...] = ()


def read_upload(data: bytes, file_name: str, *, limited: bool = True) -> UploadedTable:
    """Check, decode and parse an uploaded file. Raises ValueError with a message that says what to do.

    limited: refuse files over MAX_UPLOAD_BYTES (the app); the command line reads files of any size.
    """
    kind = _kind(file_name)
    _check_bytes(data, file_name, limited)
    text, notices = _decode(data, file_name)
    if not text.strip():
        raise ValueError(
            _("{file} holds only blank space: upload a file with at least one text.").format(file=file_name)
        )
    if kind == "txt":
        return UploadedTable(file_name, kind, _read_txt(text), (TEXT,), notices)
    table, delimiter_notices = _read_csv(text, file_name)
    return UploadedTable(file_name, kind, table, _text_columns(table, file_name), notices + delimiter_notices)


def corpus_from_upload(
    uploaded: UploadedTable, text_column: str, label_column: str | None = None, *, limited: bool = True
) -> tuple[Corpus, tuple[Message, ...]]:
    """Build the corpus (named ``f"upload: {file_name}"``) from the chosen columns, and say what was changed.

    The corpus table has columns ``text`` (cleaned, non-empty, at most MAX_TEXT_CHARS characters), then the
    label column (str) when one is chosen, then the file's other columns as metadata, in file order.
    The notices are this step's only; ``uploaded.notices`` (from reading) are not repeated.
    limited: refuse more than MAX_ROWS texts (the app); the command line takes any number.
    """
    _check_columns(uploaded, text_column, label_column)
    table, label, notices = _corpus_columns(uploaded.table, text_column, label_column)
    table, dropped = _drop_blank_texts(table, text_column)
    notices += dropped
    if label is not None:
        table, dropped = _clean_labels(table, label, str(label_column))
        notices += dropped
    if limited:
        _check_row_count(len(table), uploaded.file_name)
    table, cleaned = _clean_texts(table)
    corpus = Corpus(
        name=f"upload: {uploaded.file_name}",
        table=table.reset_index(drop=True),
        label_column=label,
        description=_description(uploaded, text_column),
    )
    return corpus, notices + cleaned


# Reading the bytes.


def _kind(file_name: str) -> str:
    """The file's kind, "txt" or "csv", from its extension (any case); anything else is refused."""
    suffix = Path(file_name).suffix.lower().lstrip(".")
    if suffix not in KINDS:
        got = f".{suffix}" if suffix else _("no extension")
        raise ValueError(
            _("{file}: upload a .txt file (one text per line) or a .csv file (one text per row); got {got}.").format(
                file=file_name, got=got
            )
        )
    return suffix


def _check_bytes(data: bytes, file_name: str, limited: bool) -> None:
    """Refuse an empty file, a file over MAX_UPLOAD_BYTES (when ``limited``) and binary content."""
    if not data:
        raise ValueError(_("{file} is empty: upload a file with at least one text.").format(file=file_name))
    if limited and len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(
            _(
                "{file} is {bytes} bytes ({megabytes} MB); the limit is {limit} bytes ({limit_megabytes} MB). Cut the "
                "file, or index it from the command line with `{command}`."
            ).format(
                file=file_name,
                bytes=number(len(data), 0),
                megabytes=number(len(data) / 1e6, 1),
                limit=number(MAX_UPLOAD_BYTES, 0),
                limit_megabytes=number(MAX_UPLOAD_BYTES / 1e6, 0),
                command=INDEX_COMMAND,
            )
        )
    if _looks_binary(data):
        raise ValueError(
            f"{file_name} looks like a binary file, not text. Upload plain text saved as UTF-8 "
            "(export a spreadsheet as CSV first; a UTF-16 file must be saved as UTF-8)."
        )


def _looks_binary(data: bytes) -> bool:
    """True for any NUL byte, or when most of the first bytes are control codes other than white space."""
    if b"\x00" in data:
        return True
    sample = data[:_BINARY_SAMPLE_BYTES]
    non_printable = len(sample) - len(sample.translate(None, _NON_PRINTABLE_BYTES))
    return non_printable / len(sample) > _MAX_NON_PRINTABLE_SHARE


def _decode(data: bytes, file_name: str) -> tuple[str, tuple[Message, ...]]:
    """The text, as UTF-8 (a byte-order mark dropped), else as cp1252, else as Latin-1, with a notice."""
    try:
        return data.decode("utf-8-sig"), ()
    except UnicodeDecodeError as error:
        position = error.start
    for encoding, label in (_FALLBACK_ENCODING, _LAST_RESORT_ENCODING):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        notice = Message(
            N_(
                "{file} is not valid UTF-8 (byte {position}), so it was read as {encoding}. If letters look wrong, "
                "save the file as UTF-8 and upload it again."
            ),
            file=file_name,
            position=position,
            encoding=label,
        )
        return text, (notice,)
    raise AssertionError("Latin-1 decodes any bytes.")  # pragma: no cover


def _read_txt(text: str) -> pd.DataFrame:
    """One row per non-blank line, stripped; a single column ``text``."""
    lines = (line.strip() for line in text.splitlines())
    return pd.DataFrame({TEXT: [line for line in lines if line]}, dtype=object)


def _read_csv(text: str, file_name: str) -> tuple[pd.DataFrame, tuple[Message, ...]]:
    """Parse CSV text with a sniffed delimiter; a file pandas cannot parse is refused with the reason."""
    delimiter = _sniff_delimiter(text)
    try:
        table = pd.read_csv(io.StringIO(text), sep=delimiter, keep_default_na=False, na_values=[""])
    except (ValueError, csv.Error) as error:
        raise _csv_error(file_name, delimiter, " ".join(str(error).split())) from error
    if not isinstance(table.index, pd.RangeIndex):
        raise _csv_error(file_name, delimiter, _("the data rows have more fields than the header row"))
    if table.empty:
        raise ValueError(_("{file} has a header row but no data rows: add one row per text.").format(file=file_name))
    table.columns = [str(column) for column in table.columns]
    separated = Message(
        N_("Read {file} with columns separated by {delimiter}."), file=file_name, delimiter=_delimiter(delimiter)
    )
    notices = () if delimiter == "," else (separated,)
    return table, notices


def _sniff_delimiter(text: str) -> str:
    """The delimiter among , ; and tab that splits the header row into the most fields (ties: that order).

    A header of one field means a one-column file: then the candidate that is rarest in the whole text, so that
    unquoted commas inside the texts do not split them.
    """
    header = text.split("\n", 1)[0]
    fields = {delimiter: len(next(csv.reader([header], delimiter=delimiter), [])) for delimiter in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda delimiter: fields[delimiter])
    if fields[best] > 1:
        return best
    return min(_DELIMITERS, key=text.count)


def _csv_error(file_name: str, delimiter: str, reason: str) -> ValueError:
    """A parse failure, with what to check."""
    return ValueError(
        _(
            "Could not read {file} as CSV ({reason}). Check that every row has as many fields as the header, "
            "separated by {delimiter}, and that texts holding the separator are in double quotes; or upload a .txt "
            "file with one text per line."
        ).format(file=file_name, reason=reason, delimiter=_(_DELIMITERS[delimiter]))
    )


def _delimiter(delimiter: str) -> Message:
    return Message(_DELIMITERS[delimiter])


def _text_columns(table: pd.DataFrame, file_name: str) -> tuple[str, ...]:
    """The columns that hold text, in file order with the likely text column first; none is refused."""
    columns = [column for column in table.columns if _holds_text(table[column])]
    if not columns:
        raise ValueError(
            _(
                "No column of {file} holds text (its columns: {columns}). Add a column of texts, or upload a .txt "
                "file with one text per line."
            ).format(file=file_name, columns=_listing(table.columns))
        )
    likely = _likely_text_column(table, columns)
    return (likely, *[column for column in columns if column != likely])


def _holds_text(column: pd.Series) -> bool:
    """True when the column is not numeric or boolean and fewer than half its values read as numbers."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    values = column.dropna().astype(str)
    if values.empty:
        return False
    return pd.to_numeric(values, errors="coerce").notna().mean() < 0.5


def _likely_text_column(table: pd.DataFrame, columns: list[str]) -> str:
    """A column named "text" (any case), else the one with the longest values on average."""
    named = [column for column in columns if column.strip().lower() == TEXT]
    if named:
        return named[0]
    return max(columns, key=lambda column: table[column].dropna().astype(str).str.len().mean())


# Building the corpus.


def _check_columns(uploaded: UploadedTable, text_column: str, label_column: str | None) -> None:
    """Refuse a column that is not in the table, a text column without text, a label equal to the text."""
    columns = list(uploaded.table.columns)
    for column in (text_column, label_column):
        if column is not None and column not in columns:
            raise ValueError(
                _("There is no column '{column}' in {file}; its columns: {columns}.").format(
                    column=column, file=uploaded.file_name, columns=_listing(columns)
                )
            )
    if text_column not in uploaded.text_columns:
        raise ValueError(
            _("Column '{column}' of {file} holds numbers or nothing, not text; pick one of: {columns}.").format(
                column=text_column, file=uploaded.file_name, columns=_listing(uploaded.text_columns)
            )
        )
    if label_column == text_column:
        raise ValueError(
            _("The label column must differ from the text column '{column}': pick another or none.").format(
                column=text_column
            )
        )


def _corpus_columns(
    table: pd.DataFrame, text_column: str, label_column: str | None
) -> tuple[pd.DataFrame, str | None, tuple[Message, ...]]:
    """The table with columns text, label, the rest; the text column renamed ``text``.

    A column already named ``text`` (when the text comes from another column) becomes ``text_original``.
    Returns the table, the label column's new name and a notice for that rename.
    """
    rest = [column for column in table.columns if column not in (text_column, label_column)]
    ordered = table[[text_column, *([label_column] if label_column else []), *rest]]
    renames = {text_column: TEXT}
    notices: tuple[Message, ...] = ()
    if text_column != TEXT and TEXT in table.columns:
        renames[TEXT] = _free_name(TEXT_ORIGINAL, table.columns)
        kept = N_("The file's own '{own}' column is kept as '{kept}'; the texts come from '{column}'.")
        notices = (Message(kept, own=TEXT, kept=renames[TEXT], column=text_column),)
    label = renames.get(label_column, label_column) if label_column else None
    return ordered.rename(columns=renames), label, notices


def _free_name(base: str, taken: pd.Index) -> str:
    """``base``, or ``base_2``, ``base_3`` ... whichever is not taken."""
    name, suffix = base, 2
    while name in taken:
        name, suffix = f"{base}_{suffix}", suffix + 1
    return name


def _drop_blank_texts(table: pd.DataFrame, text_column: str) -> tuple[pd.DataFrame, tuple[Message, ...]]:
    """Drop rows whose text is missing, empty, or only white space and control characters."""
    texts = table[TEXT].astype(object).where(table[TEXT].notna(), "").astype(str)
    blank = texts.str.replace(_CONTROL_CHARACTERS, "", regex=True).str.strip() == ""
    if not blank.any():
        return table, ()
    if blank.all():
        raise ValueError(_("Column '{column}' has no text in any row: pick another column.").format(column=text_column))
    rows = _rows(int(blank.sum()))
    notice = Message(N_("Dropped {rows} with no text in column '{column}'."), rows=rows, column=text_column)
    return table[~blank], (notice,)


def _clean_labels(table: pd.DataFrame, label: str, label_column: str) -> tuple[pd.DataFrame, tuple[Message, ...]]:
    """Labels as strings; rows without a label dropped with a notice; fewer than two classes refused."""
    labels = table[label].map(_label_string)
    missing = labels.isna()
    if missing.all():
        raise ValueError(
            _("The label column '{column}' has no values: pick another column or none.").format(column=label_column)
        )
    classes = labels[~missing].unique()
    if len(classes) < 2:
        raise ValueError(
            _(
                "The label column '{column}' needs at least two classes to compare, but every text is '{label}': "
                "pick another column or none."
            ).format(column=label_column, label=classes[0])
        )
    table = table.copy()
    table[label] = labels.astype(object)
    table = table[~missing]
    if not missing.any():
        return table, ()
    rows = _rows(int(missing.sum()))
    return table, (Message(N_("Dropped {rows} with no label in column '{column}'."), rows=rows, column=label_column),)


def _label_string(value: object) -> str | None:
    """A label as a stripped string ("1" for 1 and 1.0, "True" for True); None for missing or blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _check_row_count(count: int, file_name: str) -> None:
    """Refuse more than MAX_ROWS texts, pointing at the command line for big corpora."""
    if count > MAX_ROWS:
        raise ValueError(
            _(
                "{file} has {count} texts; the app takes at most {limit}. Cut the file, or index the whole corpus "
                "from the command line with `{command}`."
            ).format(file=file_name, count=number(count, 0), limit=number(MAX_ROWS, 0), command=INDEX_COMMAND)
        )


def _clean_texts(table: pd.DataFrame) -> tuple[pd.DataFrame, tuple[Message, ...]]:
    """Clean each text as :func:`prepare_text` does, strip it and cut it to MAX_TEXT_CHARS characters.

    Needs texts that are not blank (see :func:`_drop_blank_texts`). Notices are summed over texts.
    """
    originals = table[TEXT].astype(str).tolist()
    prepared = [prepare_text(text) for text in originals]
    cleaned = [entry.text.strip() for entry in prepared]
    notices = [*_control_notice(originals, [entry.text for entry in prepared]), *_other_notices(prepared)]
    long_lengths = [len(text) for text in cleaned if len(text) > MAX_TEXT_CHARS]
    if long_lengths:
        cut = N_("Cut {texts} longer than {limit} characters to their first {limit} (the longest had {longest}).")
        notices.append(Message(cut, texts=_texts(len(long_lengths)), limit=MAX_TEXT_CHARS, longest=max(long_lengths)))
    texts = [text[:MAX_TEXT_CHARS].rstrip() for text in cleaned]
    table = table.copy()
    table[TEXT] = pd.Series(texts, index=table.index, dtype=object)
    return table, tuple(notices)


def _control_notice(originals: list[str], cleaned: list[str]) -> tuple[Message, ...]:
    """One notice for all control characters removed, or none."""
    removed = [len(original) - len(text) for original, text in zip(originals, cleaned, strict=True)]
    total = sum(removed)
    if not total:
        return ()
    texts = sum(1 for count in removed if count)
    characters = counted(N_("{count} control character"), N_("{count} control characters"), total)
    return (Message(N_("Removed {characters} from {texts}."), characters=characters, texts=_texts(texts)),)


def _other_notices(prepared: list[PreparedText]) -> tuple[Message, ...]:
    """prepare_text's other notices (right-to-left script), each once with how many texts it concerns."""
    counts = Counter(notice for entry in prepared for notice in entry.notices if not notice.startswith("Removed "))
    return tuple(
        Message(N_("{notice} ({texts})"), notice=notice, texts=_texts(count)) for notice, count in counts.items()
    )


def _description(uploaded: UploadedTable, text_column: str) -> Message:
    """One sentence on where the texts come from."""
    if uploaded.kind == "txt":
        return Message(N_("One text per line of the uploaded file {file}."), file=uploaded.file_name)
    return Message(
        N_("Texts from column '{column}' of the uploaded file {file}."), column=text_column, file=uploaded.file_name
    )


def _listing(columns: object) -> str:
    """Column names quoted and comma-separated."""
    return ", ".join(f"'{column}'" for column in columns)


def _rows(count: int) -> Message:
    return counted(N_("{count} row"), N_("{count} rows"), count)


def _texts(count: int) -> Message:
    return counted(N_("{count} text"), N_("{count} texts"), count)
