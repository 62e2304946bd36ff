"""The HTML report of a batch run: one self-contained file (charts inlined as SVG) that an
analyst opens in the morning, offline."""
from pmfast.report.html import write_report

__all__ = ["write_report"]
