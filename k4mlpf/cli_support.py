"""What every command line of the project does alike (``k4mlpf``, ``fastsim``, ``python_trainer``).

- A user's mistake (a missing or bad file, a bad flag value, a model for another detector) is one
  line on stderr, ``PROG: error: ...``, and exit status 2, never a traceback.
- Ctrl-C (SIGINT) and SIGTERM (what a batch system sends) unwind the program like an exception, so
  every writer's clean-up runs and no temporary file is left behind: exit status 130 and 143.
- Outputs are checked before any work: the folder exists and is writable, and an output is never
  one of the inputs.
Torch-free, so that it can be imported anywhere.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path


class UsageError(ValueError):
    """A command line that cannot work: a bad flag value, an output that is an input, ..."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that clean-up runs as for Ctrl-C."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every default in --help (not the None/False of unset options and switches) and keeps the
    descriptions' line breaks."""

    def _get_help_string(self, action):
        if action.default in (None, False) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _raise_terminated(signum, frame):  # noqa: ARG001 - signal handler signature
    raise Terminated()


def ignore_interrupts_in_worker() -> None:
    """Initializer of worker processes: the parent alone handles Ctrl-C (and terminates the workers),
    so the workers print no KeyboardInterrupt or BrokenPipeError tracebacks of their own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that are the user's input, not a bug: reported in one line."""
    from .detector import DetectorMismatchError
    from .edm4hep.errors import EDM4hepError

    return (EDM4hepError, DetectorMismatchError, UsageError, ValueError, FileNotFoundError,
            PermissionError, IsADirectoryError, NotADirectoryError)


def run_command(prog: str, command: Callable[[], int | None], extra_errors: Iterable[type[BaseException]] = ()) -> int:
    """Run ``command()`` with the conventions of this module; returns the exit status."""
    import warnings

    from .edm4hep.errors import SchemaEvolutionWarning

    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    errors = user_errors() + tuple(extra_errors)
    show = warnings.showwarning

    def one_line(message, category, *args, **kwargs):  # the project's own warnings read as notes to the user
        if issubclass(category, SchemaEvolutionWarning):
            print(f"{prog}: warning: {message}", file=sys.stderr)
        else:
            show(message, category, *args, **kwargs)

    warnings.showwarning = one_line
    try:
        return int(command() or 0)
    except Terminated:
        print(f"{prog}: terminated (SIGTERM); partial outputs removed", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; partial outputs removed", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into head
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0
    except errors as err:
        print(f"{prog}: error: {_message(err)}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
        warnings.showwarning = show


def _message(err: BaseException) -> str:
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    if isinstance(err, OSError) and err.filename and err.strerror:
        return f"{err.filename}: {err.strerror}"
    return str(err)


def check_output_file(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (), flag: str = "--output") -> Path:
    """An output file that can be written: not an input (also through another path), not a folder, in
    an existing writable folder. Checked before any work."""
    path = Path(path)
    for source in inputs:
        same = path.exists() and Path(source).exists() and os.path.samefile(path, source)  # also via links
        if same or os.path.abspath(path) == os.path.abspath(source):
            raise UsageError(f"{flag} {path} is the input file {source}; choose another output name")
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: the folder {folder} does not exist")
    if not _writable(folder):
        raise UsageError(f"{flag} {path}: the folder {folder} is not writable")
    return path


def _writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (tried, since root passes every os.access check
    and read-only mounts only show on writing)."""
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".k4mlpf-write-test.", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.remove(probe)
    return True


def check_output_dir(path: str | os.PathLike, flag: str = "--output") -> Path:
    """An output folder that exists and is writable, or can be made (its nearest existing parent is
    writable). Made later, by whoever writes into it."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{flag} {path} is a file, not a folder")
        if not _writable(path):
            raise UsageError(f"{flag} {path}: the folder is not writable")
        return path
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not _writable(parent):
        raise UsageError(f"{flag} {path}: cannot create it, {parent} is not writable")
    return path


def check_device(device: str, flag: str = "--device") -> str:
    """``auto`` -> cuda where a GPU is visible, else cpu; ``cuda`` without a GPU is refused."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"{flag} {device}: no CUDA GPU is visible to PyTorch "
                         f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA); "
                         "use --device cpu")
    return device
