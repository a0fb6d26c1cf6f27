"""Exceptions raised by drizzlekit.

Every error that is caused by the caller's input is a subclass of
:class:`DrizzlekitError` and names the argument or file at fault, so a
notebook user sees *what* is wrong and *where*.
"""

__all__ = [
    "DrizzlekitError",
    "InputError",
    "ShapeError",
    "DtypeError",
    "NonFiniteError",
    "NoOverlapError",
    "UnknownKernelError",
    "ParameterError",
    "InputFileError",
    "OutputFileError",
    "AlignmentError",
    "TooFewSourcesError",
]


class DrizzlekitError(Exception):
    """Base class of every drizzlekit error."""


class InputError(DrizzlekitError, ValueError):
    """An argument has an invalid value."""


class ShapeError(InputError):
    """An array argument has the wrong shape."""


class DtypeError(InputError, TypeError):
    """An array argument has an unsupported data type."""


class NonFiniteError(InputError):
    """An argument holds NaN or infinite values where finite ones are required."""


class NoOverlapError(InputError):
    """The input does not overlap the output (or the other inputs) at all."""


class UnknownKernelError(InputError, KeyError):
    """A drizzle kernel or blot interpolant name is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ParameterError(InputError, KeyError):
    """A parameter name is unknown or its value is invalid."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputFileError(DrizzlekitError, OSError):
    """A file is missing, unreadable or malformed. The message names the file."""


class OutputFileError(InputFileError):
    """A product cannot be written (an existing directory, a name too long, no
    permission, no disk space). The message names the file or parameter."""


class AlignmentError(DrizzlekitError):
    """Alignment could not produce a trustworthy solution."""


class TooFewSourcesError(AlignmentError, InputError):
    """Too few sources (or matches) to fit the requested geometry."""
