"""User-facing errors: anything a user can fix (bad input, bad data, bad parameters).

The command line turns an :class:`InputError` into a one-paragraph message and exit code 2;
a traceback means a bug in this package.
"""


class InputError(ValueError):
    """Bad input that the user can fix; the message names the problem and the valid choices."""


class DataIntegrityError(InputError):
    """A raw data file does not match its recorded checksum or expected structure."""


def require_columns(data, columns) -> None:
    """Raise :class:`InputError` naming every column of ``columns`` (``None`` skipped) that
    ``data`` lacks, with the columns it has."""
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise InputError(
            f"column(s) {', '.join(repr(c) for c in missing)} not in the data; "
            f"available columns: {', '.join(map(str, data.columns))}"
        )


def choices_message(what: str, value: object, valid) -> str:
    """Standard wording: ``unknown model 'x'; valid choices: a, b, c``."""
    valid = sorted(str(v) for v in valid)
    shown = ", ".join(valid[:40]) + (f", ... ({len(valid)} in all)" if len(valid) > 40 else "")
    return f"unknown {what} {value!r}; valid choices: {shown}"
