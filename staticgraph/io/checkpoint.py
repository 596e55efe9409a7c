"""Variable checkpoints as `.npz` files (a zip of `.npy` entries), written and read without pickle.

Reading takes only the entries asked for, and checks each one before inflating it: the size the
zip declares, then the `.npy` header (dtype from the supported set, never an object dtype; the
shape the variable allows), then exactly the bytes that header implies. A big-endian entry of the
variable's dtype is converted to native byte order. The archive stays readable by `np.load`.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from staticgraph.errors import InvalidArgumentError, NotFoundError
from staticgraph.ops.shapes import fmt

_CHUNK = 1 << 20
# A .npy header is at most 64 KiB (version 2.0 stores its length in 4 bytes; numpy reads no more
# than 10,000 by default): what an entry may hold beyond its data.
_MAX_HEADER = 1 << 16
_READERS = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}


def write_npz(path, values: dict) -> None:
    """Write `values` (name -> array) to `path` as an uncompressed `.npz`, atomically.

    Each array is entry `name + ".npy"`; any name works (`file`, `allow_pickle` included).
    """
    directory = os.path.dirname(os.path.abspath(path))
    # Write beside the target, then rename over it, so a crash never leaves half a file.
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
            for name, value in values.items():
                with archive.open(name + ".npy", "w", force_zip64=True) as entry:
                    npy.write_array(entry, np.asarray(value), allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_npz(path, wanted: dict) -> dict:
    """Read the entries `wanted` names (name -> (shape, dtype), None dims matching any size).

    Returns:
        name -> a native-byte-order array of that dtype and a shape the wanted one allows.
    Raises:
        NotFoundError for a name the archive lacks; InvalidArgumentError naming the file and the
        entry for anything else (not a zip, a size or header that disagrees with the variable,
        an object dtype, truncated or corrupt data).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = {}
            for info in archive.infolist():
                if info.filename in entries:
                    raise InvalidArgumentError(f"entry {info.filename!r} appears twice")
                entries[info.filename] = info
            values = {}
            for name, (shape, dtype) in wanted.items():
                info = entries.get(name + ".npy")
                if info is None:
                    raise NotFoundError(f"checkpoint {path} has no value for variable {name!r} (it "
                                        f"has {sorted(n[:-4] for n in entries if n.endswith('.npy'))})")
                values[name] = _read_entry(archive, info, name, tuple(shape), np.dtype(dtype))
            return values
    except NotFoundError:
        raise
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"cannot read checkpoint {path}: {exc}") from None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, NotImplementedError,
            RuntimeError, MemoryError) as exc:
        raise InvalidArgumentError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from None


def _nbytes(shape: tuple, dtype: np.dtype) -> int:
    size = dtype.itemsize
    for d in shape:
        size *= d
    return size


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, shape: tuple,
                dtype: np.dtype) -> np.ndarray:
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InvalidArgumentError(f"entry {name!r} is encrypted or compressed in an unsupported way")
    if None not in shape and info.file_size > _nbytes(shape, dtype) + _MAX_HEADER:
        raise InvalidArgumentError(f"entry {name!r} declares {info.file_size} bytes; variable "
                                   f"{name!r}, {dtype.name}{fmt(shape)}, needs {_nbytes(shape, dtype)}")
    with archive.open(info) as entry:
        version = npy.read_magic(entry)
        if version not in _READERS:
            raise InvalidArgumentError(f"entry {name!r} is .npy version {version}; 1.0 and 2.0 are read")
        stored_shape, fortran, stored_dtype = _READERS[version](entry)
        _check_header(name, stored_shape, stored_dtype, shape, dtype)
        nbytes = _nbytes(stored_shape, stored_dtype)
        if info.file_size != entry.tell() + nbytes:
            raise InvalidArgumentError(f"entry {name!r} declares {info.file_size} bytes but its "
                                       f"header, {stored_dtype.str}{fmt(stored_shape)}, implies "
                                       f"{entry.tell() + nbytes}")
        data = bytearray()
        while len(data) < nbytes:  # in chunks: memory grows only with data actually there
            chunk = entry.read(min(_CHUNK, nbytes - len(data)))
            if not chunk:
                raise InvalidArgumentError(f"entry {name!r} is truncated: {len(data)} of {nbytes} bytes")
            data += chunk
        entry.read(1)  # at the end, zipfile checks the entry's CRC
    array = np.frombuffer(data, dtype=stored_dtype).reshape(stored_shape, order="F" if fortran else "C")
    return array.astype(dtype)  # native byte order, C order, writeable


def _check_header(name: str, stored_shape: tuple, stored_dtype: np.dtype, shape: tuple,
                  dtype: np.dtype) -> None:
    if stored_dtype.hasobject:
        raise InvalidArgumentError(f"entry {name!r} has an object dtype ({stored_dtype.str}): "
                                   "that would need pickle, which checkpoints never use")
    if stored_dtype.newbyteorder("=") != dtype:
        raise InvalidArgumentError(f"variable {name!r} is {dtype.name} but the checkpoint holds "
                                   f"{stored_dtype.str} ({stored_dtype.name})")
    if len(stored_shape) != len(shape) or any(s < 0 or d is not None and d != s
                                              for d, s in zip(shape, stored_shape)):
        raise InvalidArgumentError(f"variable {name!r} is {dtype.name}{fmt(shape)} but the "
                                   f"checkpoint holds {stored_dtype.name}{fmt(stored_shape)}")
