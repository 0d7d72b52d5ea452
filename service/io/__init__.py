"""File adapters of the command line (文件读写): request readers and result writers.

``readers`` turns a JSON file, a folder of CSVs or an .xlsx workbook into the raw request dict;
``writers`` turns a result dict into json, a Rich table, csv or an .xlsx workbook. Neither holds
budget logic: the core validates and computes.
"""

RESULT_FORMATS = ("json", "table", "csv", "xlsx")
"""The result formats of :func:`service.io.writers.write_result` (here, so that checking one imports no writer)."""
