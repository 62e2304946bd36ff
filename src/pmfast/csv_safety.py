"""Spreadsheet formula injection in CSV output (OWASP "CSV injection").

A spreadsheet opening a CSV treats a cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return before one) as a formula, so an account id like ``=HYPERLINK(...)`` written
verbatim runs when a margin clerk opens the file. The ids in our output come from the input
files, so in CSV output every id cell starting with one of those characters is written with a
leading apostrophe (``'=cmd``), which spreadsheets show as text. Only id columns are touched:
numbers and our own formatted text (``-15%``) are never prefixed; Parquet and Arrow outputs are
typed and unchanged. docs/output-safety.md states the rule.
"""
import pyarrow as pa
import pyarrow.compute as pc

# Columns holding ids taken from the input files.
ID_COLUMNS = ("account", "instrument", "underlying", "product_group", "class_group",
              "worst_group", "future")
FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(table):
    """``table`` (pyarrow) with id cells that a spreadsheet would run prefixed by ``'``."""
    for name in ID_COLUMNS:
        if name not in table.column_names:
            continue
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            continue
        risky = pc.fill_null(pc.match_substring_regex(col, FORMULA_START), False)
        if not pc.any(risky).as_py():
            continue
        safe = pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
        table = table.set_column(table.column_names.index(name), name, safe)
    return table
