"""A benchmark's table written into BENCHMARKS.md, between its section's markers."""

from pathlib import Path


def write_section(path: Path, start: str, end: str, body: str) -> bool:
    """Put ``body`` between the ``start`` and ``end`` markers of the file. False when the
    file has no such section (nothing is written then)."""
    text = path.read_text()
    if start not in text or end not in text:
        return False
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    path.write_text(f"{before}{start}\n\n{body}\n\n{end}{after}")
    return True
