"""CSV files that spreadsheets open as data, never as formulas.

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a formula
(and skip a leading tab or carriage return first), so a product name, tag or id typed by anyone
could run a command on the machine of the staff member who opens the export. Every export writes
through csv_writer: every text cell is quoted, and a text cell starting with one of those characters
gets a leading `'`, which spreadsheets show as text. The stock import undoes that prefix
(cell_restored), so an export imported back changes nothing.
"""

import csv

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_neutralised(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def cell_restored(text: str) -> str:
    """A cell as it was before cell_neutralised."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


class SpreadsheetSafeWriter:
    """csv.writer's writerow, with every text cell quoted and neutralised; numbers stay numbers."""

    def __init__(self, out):
        self._writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)

    def writerow(self, row) -> None:
        self._writer.writerow([cell_neutralised(cell) if isinstance(cell, str) else cell for cell in row])


def csv_writer(out) -> SpreadsheetSafeWriter:
    return SpreadsheetSafeWriter(out)
