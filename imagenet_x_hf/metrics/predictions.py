"""One model's predictions: the ``Predictions`` record and the file reader.

The authors' format is a CSV with the columns ``file_name,predicted_class,
predicted_probability``, one file per model. A Parquet file with those columns
(extra columns ignored, as in the runner's ``predictions.parquet``) reads the same.
Every check here raises an error that names the file, the problem and the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.schema import NUM_CLASSES

COLUMNS = ("file_name", "predicted_class", "predicted_probability")

_VAL_WIDTH = 28
# A validation name is seven little-endian 4-byte words; the digits are bytes 15-22,
# so words 3 and 5 are partly digits (masked off when the fixed bytes are compared).
_VAL_WORDS = np.frombuffer(b"ILSVRC2012_val_00000000.JPEG", dtype="<u4")
_FIXED_WORDS = (0, 1, 2, 6)
_WORD3_MASK = np.uint32(0x00FFFFFF)  # bytes 12-14: "al_"
_WORD5_MASK = np.uint32(0xFF000000)  # byte 23: "."
_DIGIT_STEPS = tuple(
    (np.uint64(scale), np.uint64(shift), np.uint64(mask))
    for scale, shift, mask in (
        (10, 8, 0x00FF00FF00FF00FF),
        (100, 16, 0x0000FFFF0000FFFF),
        (10_000, 32, 0x00000000FFFFFFFF),
    )
)


def _val_numbers_from_bytes(data: np.ndarray) -> np.ndarray | None:
    """Image numbers from N names of 28 bytes each (a 1-D uint8 buffer), if all are validation names."""
    words = data.view("<u4").reshape(-1, 7)
    # one strided column at a time: several times faster than one reduction over the rows
    for k in _FIXED_WORDS:
        if not (words[:, k] == _VAL_WORDS[k]).all():
            return None
    if not ((words[:, 3] & _WORD3_MASK) == (_VAL_WORDS[3] & _WORD3_MASK)).all():
        return None
    if not ((words[:, 5] & _WORD5_MASK) == (_VAL_WORDS[5] & _WORD5_MASK)).all():
        return None
    digits = data.reshape(-1, _VAL_WIDTH)[:, 15:23] - np.uint8(48)  # wraps below '0': one test for both ends
    if (digits > 9).any():
        return None
    # Each row's eight digit values (0-9, the first in the lowest byte) as one word,
    # combined in place: neighbouring digits into 2-digit numbers, those into 4-digit
    # ones, then the 8-digit value; each partial value fits the bits it is masked to.
    x = digits.view("<u8").reshape(-1)
    shifted = np.empty_like(x)
    for scale, shift, mask in _DIGIT_STEPS:
        np.right_shift(x, shift, out=shifted)
        x *= scale
        x += shifted
        x &= mask
    return x.astype(np.int64)


def val_numbers(file_names) -> np.ndarray | None:
    """The numbers of ImageNet validation file names (``ILSVRC2012_val_00000042.JPEG`` -> 42).

    ``None`` when any name has another form; callers then match names as strings.
    This turns the join on file names into integer indexing, the fast path for the
    common case.

    >>> val_numbers(np.array(["ILSVRC2012_val_00000042.JPEG", "ILSVRC2012_val_00050000.JPEG"], dtype=object)).tolist()
    [42, 50000]
    >>> val_numbers(np.array(["n01440764_10026.JPEG"], dtype=object)) is None
    True
    """
    if isinstance(file_names, pa.ChunkedArray):
        # chunk by chunk: joining the chunks would copy every name
        parts = [val_numbers(chunk) for chunk in file_names.chunks if len(chunk)]
        if not parts or any(part is None for part in parts):
            return None
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    if isinstance(file_names, pa.Array):
        arr = file_names
        if arr.null_count or not pa.types.is_string(arr.type):
            return None
        offsets = np.frombuffer(arr.buffers()[1], np.int32, len(arr) + 1, arr.offset * 4)
        if len(arr) == 0 or not (np.diff(offsets) == _VAL_WIDTH).all():
            return None
        return _val_numbers_from_bytes(np.frombuffer(arr.buffers()[2], np.uint8)[offsets[0] : offsets[-1]])
    try:
        fixed = np.asarray(file_names).astype("S")
    except (UnicodeEncodeError, ValueError, TypeError):
        return None
    if fixed.ndim != 1 or fixed.dtype.itemsize != _VAL_WIDTH or len(fixed) == 0:
        return None
    numbers = _val_numbers_from_bytes(np.ascontiguousarray(fixed).view(np.uint8))
    # a shorter name padded with NUL bytes cannot pass the suffix test, so lengths are all 28
    return numbers


@dataclass(frozen=True)
class Predictions:
    """Top-1 predictions of one model, one entry per image.

    ``file_names`` is a numpy array of names, or the Arrow string column a file was read
    into, kept as it is: scoring validation names needs only their image numbers (parsed
    from the Arrow buffer), so 50,000 Python strings are made only by ``names()``, when
    a name is really read. ``val_numbers`` are those image numbers; ``numbers_checked``
    says they were checked for repeats when the record was built (``from_arrays``), so
    scoring need not count them again.

    >>> p = Predictions.from_arrays(["ILSVRC2012_val_00000001.JPEG"], [65], name="toy")
    >>> p.name, len(p), p.predicted_probability is None, p.numbers_checked
    ('toy', 1, True, True)
    """

    name: str | None
    file_names: np.ndarray | pa.Array | pa.ChunkedArray
    predicted_class: np.ndarray
    predicted_probability: np.ndarray | None = None
    # image numbers of validation file names, computed once when the names are checked
    val_numbers: np.ndarray | None = field(default=None, repr=False, compare=False)
    numbers_checked: bool = field(default=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.file_names)

    def names(self) -> np.ndarray:
        """The file names as a numpy array of ``str`` (made from an Arrow column on each call)."""
        names = self.file_names
        return (
            names.to_numpy(zero_copy_only=False) if isinstance(names, (pa.Array, pa.ChunkedArray)) else names
        )

    @classmethod
    def from_arrays(
        cls,
        file_names,
        predicted_class,
        predicted_probability=None,
        *,
        name: str | None = None,
        source: str = "predictions",
        numbers: np.ndarray | None = None,
    ) -> Predictions:
        """Checked ``Predictions`` from array-likes; ``source`` names the input in errors."""
        if (
            isinstance(file_names, (pa.Array, pa.ChunkedArray))
            and pa.types.is_string(file_names.type)
            and file_names.null_count == 0
        ):
            names = file_names  # kept as Arrow strings until someone reads them (see Predictions.names)
        else:
            names = np.asarray(file_names, dtype=object)
        classes = np.asarray(predicted_class)
        if getattr(names, "ndim", 1) != 1 or classes.ndim != 1:
            raise ImageNetXError(f"{source}: file names and predicted classes must be 1-D sequences")
        if len(names) == 0:
            raise ImageNetXError(f"{source}: no predictions given; pass at least one image's prediction")
        if len(classes) != len(names):
            raise ImageNetXError(
                f"{source}: {len(names)} file names but {len(classes)} predicted classes; "
                "give exactly one predicted class per file name"
            )
        classes = check_class_ids(classes, what="predicted_class", source=source)
        probs = None
        if predicted_probability is not None:
            probs = check_probabilities(predicted_probability, len(names), source=source)
        if numbers is None:
            numbers = val_numbers(names)
        if numbers is None and not isinstance(names, np.ndarray):
            names = names.to_numpy(zero_copy_only=False)  # other names are matched as strings anyway
        check_unique(names, numbers, source=source)
        return cls(
            name=name,
            file_names=names,
            predicted_class=classes,
            predicted_probability=probs,
            val_numbers=numbers,
            numbers_checked=numbers is not None,
        )


def check_class_ids(values, *, what: str, source: str, copy: bool = True) -> np.ndarray:
    """``values`` as int64 class ids in 0-999, or an error naming the first bad one.

    ``copy=False`` may return ``values`` itself when it is already such an array.
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ImageNetXError(f"{source}: {what} holds non-integer values; pass ImageNet class ids 0-999")
    elif arr.dtype.kind not in "iub":
        raise ImageNetXError(
            f"{source}: {what} must hold integer class ids 0-999, got dtype {arr.dtype}; "
            "pass the argmax class index, not a class name"
        )
    arr = arr.astype(np.int64, copy=copy)
    if len(arr) and (arr.min() < 0 or arr.max() >= NUM_CLASSES):
        bad = (arr < 0) | (arr >= NUM_CLASSES)
        i = int(np.flatnonzero(bad)[0])
        raise ImageNetXError(
            f"{source}: {what} {int(arr[i])} at row {i} is outside 0-{NUM_CLASSES - 1} "
            f"({int(bad.sum())} such rows); ImageNet-X scores the 1000 ImageNet-1k classes: "
            "map 1001-class outputs (index 0 = background) by subtracting 1"
        )
    return arr


def check_probabilities(values, n: int, *, source: str) -> np.ndarray:
    """``values`` as float64 probabilities in [0, 1], one per image."""
    probs = np.asarray(values, dtype=np.float64)
    if probs.shape != (n,):
        raise ImageNetXError(
            f"{source}: {probs.size} probabilities for {n} predictions; give one top-1 probability per image"
        )
    # two reductions settle the common case; NaN fails both tests, so it reaches the details
    if len(probs) == 0 or (probs.min() >= 0 and probs.max() <= 1):
        return probs
    nan = ~np.isfinite(probs)
    if nan.any():
        i = int(np.flatnonzero(nan)[0])
        raise ImageNetXError(
            f"{source}: predicted_probability is NaN or infinite at row {i} ({int(nan.sum())} rows); "
            "write the softmax probability of the predicted class, or leave the column out"
        )
    bad = (probs < 0) | (probs > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ImageNetXError(
            f"{source}: predicted_probability {probs[i]!r} at row {i} is outside [0, 1]; "
            "write a probability (softmax), not a logit"
        )
    return probs


def check_unique(names: np.ndarray | None, numbers: np.ndarray | None = None, *, source: str) -> None:
    """Raise when a file name appears twice (``numbers``: their ``val_numbers``, if known; then
    ``names`` is not read and may be None)."""
    if numbers is not None:
        # a flag per possible number (1 byte, not an 8-byte count): n names, n distinct numbers
        flags = np.zeros(int(numbers.max(initial=0)) + 1, dtype=bool)
        flags[numbers] = True
        if np.count_nonzero(flags) == len(numbers):
            return
        seen = np.bincount(numbers)
        dup = [f"ILSVRC2012_val_{int(i):08d}.JPEG" for i in np.flatnonzero(seen > 1)]
    else:
        unique, counts = np.unique(names.astype(str), return_counts=True)
        if len(unique) == len(names):
            return
        dup = unique[counts > 1]
    raise ImageNetXError(
        f"{source}: {len(dup)} file names appear more than once (first: {dup[0]!r}); "
        "give one prediction per image"
    )


def _read_table(path: Path) -> pa.Table:
    suffix = path.suffix.lower()
    try:
        # each reader is imported when its format is met: pyarrow.parquet alone takes ~50 ms
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            schema = pq.read_schema(path)
            columns = [c for c in COLUMNS if c in schema.names]
            return pq.read_table(path, columns=columns)
        if suffix == ".csv":
            import pyarrow.csv as pcsv

            return pcsv.read_csv(
                path,
                # pyarrow's default blocks (1 MB) let a 50,000-row file parse on several threads
                convert_options=pcsv.ConvertOptions(
                    column_types={"file_name": pa.string(), "predicted_probability": pa.float64()}
                ),
            )
    except (pa.ArrowInvalid, OSError) as err:
        raise ImageNetXError(
            f"{path}: cannot be read as {suffix[1:].upper()} ({err}); write a file with the columns "
            f"{', '.join(COLUMNS)}"
        ) from None
    raise ImageNetXError(
        f"{path}: unknown file type {suffix!r}; pass a .csv in the authors' format ({','.join(COLUMNS)}) "
        "or a .parquet file with those columns"
    )


def read_predictions(path: str | os.PathLike, *, name: str | None = None) -> Predictions:
    """Read one model's predictions from a CSV (authors' format) or Parquet file.

    The model name is ``name`` or, by default, the file stem (``ResNet50.csv`` ->
    ``ResNet50``). ``predicted_probability`` is optional.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.csv"
    >>> _ = path.write_text("file_name,predicted_class,predicted_probability\\n"
    ...                     "ILSVRC2012_val_00000001.JPEG,65,0.9\\n")
    >>> p = read_predictions(path)
    >>> p.name, p.names().tolist(), p.predicted_class.tolist(), p.predicted_probability.tolist()
    ('toy', ['ILSVRC2012_val_00000001.JPEG'], [65], [0.9])
    """
    path = Path(path)
    if not path.is_file():
        raise ImageNetXError(f"prediction file {str(path)!r} does not exist; pass a .csv or .parquet file")
    table = _read_table(path)
    missing = [c for c in COLUMNS[:2] if c not in table.column_names]
    if missing:
        raise ImageNetXError(
            f"{path}: missing column(s) {missing} (found {table.column_names}); the file needs "
            f"{', '.join(COLUMNS[:2])} and optionally {COLUMNS[2]}"
        )
    if table.num_rows == 0:
        raise ImageNetXError(f"{path}: no predictions given (the file has no rows); write one row per image")
    names = table.column("file_name")
    classes = table.column("predicted_class")
    if names.null_count or classes.null_count:
        raise ImageNetXError(f"{path}: empty file_name or predicted_class cells; fill every row")
    if pa.types.is_string(names.type) or pa.types.is_large_string(names.type):
        empty = pc.sum(pc.equal(pc.utf8_length(names), 0)).as_py() or 0
        if empty:
            raise ImageNetXError(
                f"{path}: {empty} rows have an empty file_name; give every prediction its image's file name"
            )
    if not pa.types.is_integer(classes.type):
        raise ImageNetXError(
            f"{path}: predicted_class has type {classes.type}, not integer; write ImageNet class ids 0-999"
        )
    probs = None
    if "predicted_probability" in table.column_names:
        column = table.column("predicted_probability")
        column = column.cast(pa.float64())
        if column.null_count:
            column = pc.fill_null(column, float("nan"))
        probs = column.to_numpy()
    return Predictions.from_arrays(
        names,
        classes.to_numpy(),
        probs,
        name=path.stem if name is None else name,
        source=str(path),
        numbers=val_numbers(names),
    )
