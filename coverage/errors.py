"""Errors a planner can fix, each carrying a Chinese message for the page edge.

Every exception here subclasses `CoverageError` (and a builtin where it fits), so pages catch one
class and show `str(err)`; anything else is a bug and is left to surface.
"""
from __future__ import annotations

from collections.abc import Iterable


class CoverageError(Exception):
    """Base for errors a planner can fix. `str(err)` is the Chinese message shown to the user."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems = list(problems)
        full = message if not self.problems else message + "\n" + "\n".join(f"- {p}" for p in self.problems)
        super().__init__(full)
        self.message = message


class CatalogError(CoverageError, ValueError):
    """The facility-class or plan-target catalogue is inconsistent."""


class InputFileError(CoverageError, ValueError):
    """An uploaded file cannot be read (format, encoding, archive, size)."""


class UnsafeArchiveError(InputFileError):
    """An archive with path traversal, too many members or a suspicious compression ratio."""


class CRSError(CoverageError, ValueError):
    """The coordinate reference system is missing, unknown or does not fit the coordinates."""


class FieldMappingError(CoverageError, KeyError):
    """A required column (township code, name, longitude, ...) was not found.

    `columns` lists the table's columns and `missing` the canonical fields not found, so a page
    can offer a form mapping them by hand.
    """

    def __init__(self, message: str, problems: Iterable[str] = (), *, columns: Iterable[str] = (),
                 missing: Iterable[str] = ()) -> None:
        super().__init__(message, problems)
        self.columns = [str(c) for c in columns]
        self.missing = list(missing)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return Exception.__str__(self)


class BoundaryValidationError(CoverageError, ValueError):
    """The township layer has problems that prevent a correct computation."""


class CRSMismatchError(CoverageError, ValueError):
    """Two layers that must share a CRS do not."""


class SitingError(CoverageError, ValueError):
    """Siting input a planner can fix (radius, weights, coordinates, N, share) or a target that
    cannot be reached."""


class PopulationTableError(CoverageError, ValueError):
    """A population table (人口表) cannot be joined to the townships: duplicate or unusable codes."""


class AccessError(CoverageError, ValueError):
    """Distance-coverage input a planner can fix (service radius, missing CRS)."""


class PlanTextError(InputFileError):
    """A plan document (规划文本: .txt, .docx, .pdf) cannot be read as text."""


class ScannedPdfError(PlanTextError):
    """A PDF without a text layer (a scan): there is no text to read."""


class EncryptedDocumentError(PlanTextError):
    """A password-protected Word or PDF file."""


class UnsupportedDocumentError(PlanTextError):
    """Not a text, Word (.docx) or PDF file, a damaged one, or binary content."""


class EmptyDocumentError(PlanTextError):
    """The document was read but contains no text."""


class StoreError(CoverageError):
    """The shared store (GeoPackage file or PostgreSQL database, see `store`) cannot be opened or
    cannot carry out a request: missing file, unreachable server, not a store of this program."""


class StoreInputError(StoreError, ValueError):
    """A store edit with values a planner can fix (empty name, coordinates outside China, unknown class)."""


class StoreConflict(StoreError):
    """An edit made on data that another person changed meanwhile; nothing was saved.

    `change` is the other person's change (`store.Change`: who, when, what) and `key` names the row.
    """

    def __init__(self, message: str, problems: Iterable[str] = (), *, change=None, key: str = "") -> None:
        super().__init__(message, problems)
        self.change = change
        self.key = key


class PermissionDenied(StoreError, PermissionError):
    """The acting account's role (查看 / 编辑 / 管理) does not allow the change; nothing was saved."""


class AuthenticationError(StoreError):
    """Wrong account name or password (the message does not say which)."""
