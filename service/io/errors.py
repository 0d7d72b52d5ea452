"""The one error of the file adapters, in a module of its own so that catching it imports nothing heavy.

(:mod:`service.io.readers` needs openpyxl, and openpyxl numpy: about 27 MB and a third of a second that a
``budget-rules recommend FILE.json`` should not pay just to be able to report a bad file.)
"""

from __future__ import annotations

from collections.abc import Sequence


class InputFileError(Exception):
    """The request file cannot be read as a request container (申报文件无法读取).

    ``problems`` holds one line per problem, each naming the file and the row, column or cell.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))
