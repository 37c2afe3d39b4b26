"""One family of errors for everything doclab cannot do, caught once at each front door (the MkDocs hook, the
CLIs, ``doclab.tools.serve``, the Sybil parser). Each message already says what went wrong and what to do; a
``DoclabError`` may also carry the file and line it is about and the command that reproduces it, which its
text then shows. Imports nothing of doclab: every module may raise these."""

from __future__ import annotations


class DoclabError(Exception):
    """What doclab cannot do: the message names the file (and line) and the fix; ``reproduce`` is a command."""

    def __init__(self, message: str = "", *, file: str | None = None, line: int | None = None,
                 reproduce: str | None = None):
        super().__init__(message)
        self.message, self.file, self.line, self.reproduce = message, file, line, reproduce

    @classmethod
    def about(cls, page: str, message: str, line: int | None = None, reproduce: str | None = None):
        """An error about ``page`` (its path under docs/, as pages name themselves): the one place ``docs/`` is added."""
        return cls(message, file=f"docs/{page}", line=line, reproduce=reproduce)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else f"{self.file}: " if self.file else ""
        told = self.message if self.message.startswith(where) else where + self.message
        return f"{told}\n--- reproduce ---\n{self.reproduce}" if self.reproduce else told


class SettingsError(DoclabError, ValueError):
    """A setting (``doclab.settings``) with a value doclab cannot use: the message names the variable and what to set."""
