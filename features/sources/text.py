"""Bytes of an input file -> CSV rows with their line numbers, or a one-line error.

Official Japanese files come in CP932 (Shift-JIS), English ones in UTF-8. UTF-8 is tried first:
it is strict enough that CP932 Japanese text practically never decodes as UTF-8 by accident.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from features.errors import DataValidationError

ENCODINGS = ("utf-8-sig", "cp932")
_ZIP_MAGIC = b"PK\x03\x04"
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


@dataclass(frozen=True)
class Row:
    line: int  # line number in the file (first line = 1)
    cells: list[str]

    def cell(self, i: int) -> str:
        return self.cells[i].strip() if i < len(self.cells) else ""

    @property
    def blank(self) -> bool:
        return not any(c.strip() for c in self.cells)


def decode(data: bytes, name: str, encodings: tuple[str, ...] = ENCODINGS) -> str:
    """Text of ``data``; empty files, archives and undecodable bytes are one-line errors."""
    if not data.strip():
        raise DataValidationError(f"{name}: empty file")
    if data.startswith(_ZIP_MAGIC):
        raise DataValidationError(f"{name}: a ZIP archive, not a CSV file (extract the CSV from it first)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataValidationError(f"{name}: encoding error: the file is UTF-16; official files are CP932 or UTF-8")
    failure: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as err:
            failure = err
            continue
        if "\x00" in text:
            raise DataValidationError(f"{name}: encoding error: NUL bytes in the text (UTF-16 or a binary file?)")
        odd = _PRIVATE_USE.search(text)
        if odd:  # CP932 decodes the undefined bytes 0xA0, 0xFD-0xFF to private-use characters
            line = text[: odd.start()].count("\n") + 1
            raise DataValidationError(
                f"{name}: row {line}: encoding error: a byte with no character (U+{ord(odd.group(0)):04X})"
            )
        return text
    assert failure is not None
    line = data[: failure.start].count(b"\n") + 1
    byte = data[failure.start]
    raise DataValidationError(
        f"{name}: row {line}: encoding error: not {' or '.join(_label(e) for e in encodings)} (byte 0x{byte:02x})"
    )


def _label(encoding: str) -> str:
    return {"utf-8-sig": "UTF-8", "cp932": "CP932/Shift-JIS"}.get(encoding, encoding)


def csv_rows(text: str, name: str) -> list[Row]:
    """All rows with their line numbers; trailing blank rows dropped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[Row] = []
    try:
        for cells in reader:
            rows.append(Row(reader.line_num, cells))
    except csv.Error as err:
        raise DataValidationError(f"{name}: row {reader.line_num + 1}: unreadable CSV ({err})") from None
    while rows and rows[-1].blank:
        rows.pop()
    if not rows:
        raise DataValidationError(f"{name}: empty file")
    return rows
