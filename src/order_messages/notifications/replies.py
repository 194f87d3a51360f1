"""What a person actually wrote in an e-mail reply, without the quoted history."""

from __future__ import annotations

import codecs
import email.message
import re
from collections.abc import Iterator
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

# mailparser_reply finds the attribution lines and Outlook header blocks well, but its
# signature and disclaimer rules cut at "Thanks,", "Grüße", "- " list items and
# "Achtung: ...", which are often the message itself; only its header split is used.
_PARSER = EmailReplyParser(languages=["en", "de"])

_SIGNATURE_DELIMITER = re.compile(r"-- ?")
_DEVICE = r"[\w .'-]{1,40}"
_MOBILE_SIGNATURE = re.compile(
    rf"(?:Sent from my {_DEVICE}|Von meinem {_DEVICE} gesendet|Gesendet von meinem {_DEVICE}"
    r"|Get Outlook for (?:iOS|Android)|Outlook für (?:iOS|Android) beziehen)\.?\s*(?:<\S*>)?",
    re.IGNORECASE,
)
# The library knows "-----Original Message-----" but neither the German version nor the
# bare line of underscores that Outlook puts above its From:/Von: block.
_OUTLOOK_SEPARATOR = re.compile(
    r"_{30,}|-{3,} ?(?:Ursprüngliche Nachricht|Original-Nachricht) ?-{3,}", re.IGNORECASE
)
_ATTRIBUTION = re.compile(r"(?:On|Am)\s.*:", re.IGNORECASE | re.DOTALL)
_DIGIT = re.compile(r"\d")
# An attribution is never this long, and the library's header patterns backtrack badly
# on long lines that start with "On" or "Am".
_LONGEST_HEADER_LINE = 200
_BLANK_RUNS = re.compile(r"\n{3,}")


def reply_text(message: email.message.Message) -> str:
    """The new text of an inbound reply: its text/plain part (else its HTML turned into
    text), with quoted history and signature removed. '' when nothing is left."""
    plain = html = ""
    for part in leaf_parts(message):
        if is_attachment(part):
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and not plain.strip():
            plain = _decoded_text(part)
        elif content_type == "text/html" and not html.strip():
            html = _decoded_text(part)
    if plain.strip():
        return strip_quoted(plain)
    return strip_quoted(_html_to_text(html)) if html else ""


def strip_quoted(text: str) -> str:
    """Remove quoted history and signatures from the plain text of a reply, keeping the
    person's line breaks; trims the ends."""
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    lines = lines[: _own_cut(lines)]
    # The library sees stripped lines, as it would strip them itself. Quoted, overlong and
    # blank lines could only slow it down (its patterns backtrack over long lines and runs
    # of blank lines), so they become a filler that keeps the line numbers.
    probe = "\n".join(
        "." if len(line) > _LONGEST_HEADER_LINE or _is_quoted(line) else line.strip() or "."
        for line in lines
    )
    dropped: set[int] = set()
    for offset, header in _reply_headers(probe):
        attribution = _ATTRIBUTION.fullmatch(header)
        # Real attributions carry the date of the quoted mail; without a digit, "On Monday
        # I wrote:" is the person's own sentence.
        if attribution and not _DIGIT.search(header):
            continue
        first = probe.count("\n", 0, offset)
        last = first + header.count("\n")
        if attribution and _quote_follows(lines, last):
            # The person may answer between the quoted lines further down.
            dropped.update(range(first, last + 1))
        else:
            # Outlook-style history, or an attribution over unquoted history.
            lines = lines[:first]
            break
    kept = (
        line for number, line in enumerate(lines) if number not in dropped and not _is_quoted(line)
    )
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()


def _own_cut(lines: list[str]) -> int:
    for number, line in enumerate(lines):
        stripped = line.strip()
        if (
            _SIGNATURE_DELIMITER.fullmatch(line)
            or _MOBILE_SIGNATURE.fullmatch(stripped)
            or _OUTLOOK_SEPARATOR.fullmatch(stripped)
        ):
            return number
    return len(lines)


def _reply_headers(probe: str) -> Iterator[tuple[int, str]]:
    cursor = 0
    for reply in _PARSER.read(probe).replies:
        if not reply.headers:
            continue
        offset = probe.find(reply.headers, cursor)
        if offset >= 0:
            yield offset, reply.headers
            cursor = offset + len(reply.headers)


def _quote_follows(lines: list[str], last: int) -> bool:
    for line in lines[last + 1 :]:
        if line.strip():
            return _is_quoted(line)
    return False


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def is_attachment(part: email.message.Message) -> bool:
    """A file sent with the mail, not its text: a part with a file name, or marked as an
    attachment."""
    return part.get_content_disposition() == "attachment" or bool(part.get_filename())


def leaf_parts(message: email.message.Message) -> Iterator[email.message.Message]:
    # Iterative, so a deeply nested hostile message cannot exhaust the stack; attached
    # messages (message/rfc822) are leaves and never searched for a body.
    stack = [message]
    while stack:
        part = stack.pop()
        # is_multipart() before get_payload(): on a leaf, get_payload() decodes with the
        # declared charset and raises on codecs such as "idna".
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            stack.extend(reversed(part.get_payload()))
        else:
            yield part


def _decoded_text(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        text = payload.decode(_codec(part.get_content_charset()), errors="replace")
    except (LookupError, ValueError):
        # Names like "base64" or "idna" are codecs, but not ones that decode mail text.
        text = payload.decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if str(part.get_param("format", "")).lower() == "flowed":
        text = _unflow(text, delete_space=str(part.get_param("delsp", "")).lower() == "yes")
    return text


def _codec(charset: str | None) -> str:
    try:
        name = codecs.lookup(charset or "utf-8").name
    except (LookupError, ValueError):
        return "utf-8"
    # Windows mailers label cp1252 text as ISO-8859-1 (browsers treat them alike, too).
    return "cp1252" if name == "iso8859-1" else name


def _unflow(text: str, delete_space: bool) -> str:
    """Undo RFC 3676 soft line breaks, so paragraphs get the line breaks the person typed."""
    lines: list[tuple[int, str]] = []
    soft_break = False
    for raw in text.split("\n"):
        content = raw.lstrip(">")
        depth = len(raw) - len(content)
        content = content.removeprefix(" ")
        if soft_break and lines[-1][0] == depth:
            lines[-1] = (depth, lines[-1][1] + content)
        else:
            lines.append((depth, content))
        soft_break = content.endswith(" ") and content != "-- "
        if soft_break and delete_space:
            lines[-1] = (depth, lines[-1][1][:-1])
    return "\n".join(">" * depth + " " * bool(depth) + content for depth, content in lines)


def _html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError:
        pass  # html.parser gives up on some malformed declarations; keep what it read
    return parser.text()


class _HtmlText(HTMLParser):
    """Mail HTML as plain text, without the quoted history that clients mark up."""

    _HIDDEN = frozenset({"head", "title", "style", "script", "blockquote"})
    _BLOCKS = frozenset(
        {"div", "p", "tr", "li", "ul", "ol", "table", "hr", "pre", "h1", "h2", "h3", "h4"}
    )
    _HISTORY_IDS = frozenset({"divRplyFwdMsg", "appendonsend"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._chunks: list[str] = []
        self._newlines = 0
        self._history_started = False
        self._hidden_tag = ""
        self._hidden_depth = 0
        self._paragraph_gap = 2

    def text(self) -> str:
        text = "".join(self._chunks).replace("\xa0", " ")
        return "\n".join(line.strip() for line in text.split("\n"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._history_started:
            return
        if self._hidden_depth:
            if tag == self._hidden_tag:
                self._hidden_depth += 1
            elif tag == "body" and self._hidden_tag == "head":
                self._hidden_depth = 0  # an unclosed <head> must not hide the message
            return
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if "gmail_quote" in classes or attributes.get("id") in self._HISTORY_IDS:
            self._history_started = True
        elif tag in self._HIDDEN or "moz-cite-prefix" in classes:
            self._hidden_tag, self._hidden_depth = tag, 1
        elif tag == "br":
            self._emit("\n")
        elif tag == "p":
            # Outlook's MsoNormal paragraphs have no margin; it spaces with empty ones.
            self._paragraph_gap = 1 if "MsoNormal" in classes else 2
            self._break(self._paragraph_gap)
        elif tag in self._BLOCKS:
            self._break(1)

    def handle_endtag(self, tag: str) -> None:
        if self._history_started:
            return
        if self._hidden_depth:
            if tag == self._hidden_tag:
                self._hidden_depth -= 1
            return
        if tag == "p":
            self._break(self._paragraph_gap)
        elif tag in self._BLOCKS:
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self._history_started or self._hidden_depth:
            return
        data = re.sub(r"[ \t\n\r\f]+", " ", data)
        if data != " " or (self._chunks and not self._newlines):
            self._emit(data)

    def _break(self, newlines: int) -> None:
        if self._chunks:
            self._emit("\n" * max(0, newlines - self._newlines))

    def _emit(self, text: str) -> None:
        if not text:
            return
        self._chunks.append(text)
        content = text.rstrip("\n")
        trailing = len(text) - len(content)
        self._newlines = trailing if content else self._newlines + trailing
