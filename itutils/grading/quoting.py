"""Quote student-controlled text for Markdown, spreadsheets and terminals.

Everything a submission controls (its file name, the student's name, written
answers, exception messages, printed output) reaches the instructor's and the
students' screens through the grader's files. This module makes that text
inert:

- :func:`one_line`: one line of plain text (no line breaks, no control or
  bidirectional-override characters that could redraw a terminal or reorder
  what is shown);
- :func:`md_code` / :func:`md_block`: Markdown code spans and fenced blocks,
  with a fence longer than any backtick run inside, so that the text cannot
  end the block and create headings, links, images or HTML;
- :func:`csv_field` / :func:`csv_line`: spreadsheet-safe CSV (OWASP's advice
  on CSV injection: a field that starts with ``=``, ``+``, ``-``, ``@``, tab
  or carriage return gets a leading ``'``; fields with separators are quoted);
- :func:`display_path`: a file name as text, whatever bytes it holds.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "one_line",
    "text_block",
    "md_code",
    "md_block",
    "csv_field",
    "csv_line",
    "display_path",
    "Note",
]

# Line breaks of any kind, and tabs: all become one space in one-line text.
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
_BACKTICKS = re.compile(r"`+")
#: First characters that make a spreadsheet read a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def _inert_char(ch: str) -> str:
    """Control and format characters (ESC, NUL, bidi overrides) as U+FFFD."""
    category = unicodedata.category(ch)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in "\n\t":
        return "\ufffd"
    return ch


def _inert(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(map(_inert_char, text))


def one_line(text, limit: int | None = None) -> str:
    """``text`` as one line of printable text, cut at ``limit`` characters.

    Examples
    --------
    >>> one_line("a\\n## b\\r\\n\\x1b[2J c")
    'a ## b \\ufffd[2J c'
    >>> one_line("x" * 10, limit=4)
    'xxxx [... cut]'
    """
    text = _inert(_BREAKS.sub(" ", str(text)))
    if limit is not None and len(text) > limit:
        text = text[:limit] + " [... cut]"
    return text


def text_block(text, limit: int | None = None) -> str:
    """``text`` with ``\\n`` line ends and no other control characters.

    Examples
    --------
    >>> text_block("a\\r\\nb\\rc\\x00")
    'a\\nb\\nc\\ufffd'
    """
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _inert(text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "\n[... cut here]"
    return text


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in _BACKTICKS.findall(text)), default=0)


def md_code(text, limit: int | None = 300) -> str:
    """An inline Markdown code span showing ``text`` literally, on one line.

    The fence is one backtick longer than the longest run of backticks in the
    text, so the text cannot close it; line breaks become spaces, so block
    syntax (headings, lists, quotes) cannot start inside it.

    Examples
    --------
    >>> md_code("alice")
    '`alice`'
    >>> md_code("a`b")
    '``a`b``'
    >>> md_code("[x](http://x)\\n## heading")
    '`[x](http://x) ## heading`'
    """
    text = one_line(text, limit)
    if not text:
        return "*(empty)*"
    fence = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_block(text, limit: int | None = 3000, info: str = "text") -> str:
    """A fenced Markdown code block showing ``text`` literally.

    The fence has more backticks than any run inside the text (at least
    three), so no line of the text can close it: whatever it holds
    (``## All parts passed``, ``[link](http://x)``, ``<script>``, fences of
    its own) is shown as typed, never rendered.

    Examples
    --------
    >>> print(md_block("```\\n## forged"))
    ````text
    ```
    ## forged
    ````
    """
    text = text_block(text, limit).rstrip("\n")
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def csv_field(value) -> str:
    """One CSV field, safe to open in a spreadsheet (one line, no formula).

    A field whose first character (or first character after spaces, since
    spreadsheets may trim them; full-width forms included) is ``=``, ``+``,
    ``-``, ``@``, tab, CR, LF or NUL, or that starts with a space (tabs and
    line breaks inside a field become spaces), gets a leading apostrophe,
    which spreadsheets read as "this cell is text".

    Examples
    --------
    >>> csv_field('=HYPERLINK("http://x", "click")')
    '\\'=HYPERLINK("http://x", "click")'
    >>> csv_field("+1+2"), csv_field("2"), csv_field("alice")
    ("'+1+2", '2', 'alice')
    """
    raw = str(value)
    text = one_line(raw)
    first = unicodedata.normalize("NFKC", text.lstrip()[:1])
    if raw.startswith(_FORMULA_START) or first in _FORMULA_START or text[:1].isspace():
        text = "'" + text
    return text


def csv_line(values) -> str:
    """One CSV line (RFC 4180 quoting, ``\\n`` ending) of spreadsheet-safe fields.

    A field is quoted when it holds a comma, a semicolon (the separator of
    spreadsheets in many locales), a double quote or leading/trailing spaces.

    Examples
    --------
    >>> print(csv_line(["alice", "a, b", "-", 'say "hi" now']), end="")
    alice,"a, b",'-,"say ""hi"" now"
    """
    fields = []
    for value in values:
        text = csv_field(value)
        if any(c in text for c in ',;"') or text != text.strip():
            text = '"' + text.replace('"', '""') + '"'
        fields.append(text)
    return ",".join(fields) + "\n"


def display_path(name: str) -> str:
    """A file name (as ``os.fsdecode`` gives it) as printable one-line text.

    Bytes that are not UTF-8 are shown as ``\\xNN``.

    Examples
    --------
    >>> import os
    >>> display_path(os.fsdecode(b"caf\\xe9\\n.ipynb"))
    'caf\\\\xe9 .ipynb'
    """
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return one_line(text)


class Note:
    """A message with untrusted values, shown safely as Markdown or plain text.

    Examples
    --------
    >>> note = Note("the file {} is a link", "a`b.ipynb")
    >>> note.markdown()
    'the file ``a`b.ipynb`` is a link'
    >>> note.plain()
    'the file "a`b.ipynb" is a link'
    """

    def __init__(self, template: str, *values):
        self.template, self.values = template, tuple(str(v) for v in values)

    def markdown(self) -> str:
        return self.template.format(*(md_code(v) for v in self.values))

    def plain(self) -> str:
        return one_line(
            self.template.format(*(f'"{one_line(v, 200)}"' for v in self.values))
        )

    def __eq__(self, other) -> bool:
        return isinstance(other, Note) and (self.template, self.values) == (
            other.template,
            other.values,
        )

    def __hash__(self) -> int:
        return hash((self.template, self.values))

    def __repr__(self) -> str:
        return f"Note({self.plain()!r})"
