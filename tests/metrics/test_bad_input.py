"""Bad input gets a clear error that names the problem (and the fix)."""

import numpy as np
import pytest

from imagenet_x_hf import ImageNetXError
from imagenet_x_hf.metrics import (
    Predictions,
    factor_counts,
    paired_comparison,
    read_predictions,
    score_arrays,
)

from .conftest import score

VAL = [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, 8)]


def test_length_mismatch():
    with pytest.raises(ImageNetXError, match="7 file names but 6 predicted classes"):
        Predictions.from_arrays(VAL, [1] * 6)
    with pytest.raises(ImageNetXError, match="6 probabilities for 7 predictions"):
        Predictions.from_arrays(VAL, [1] * 7, [0.5] * 6)
    with pytest.raises(ImageNetXError, match="factors has 4 rows for 5 images"):
        factor_counts(np.ones(5, bool), np.zeros((4, 16), bool))


@pytest.mark.parametrize("bad", [-1, 1000, 1001])
def test_class_ids_outside_the_label_space(bad):
    with pytest.raises(ImageNetXError, match=f"predicted_class {bad} at row 3 is outside 0-999"):
        Predictions.from_arrays(VAL, [1, 2, 3, bad, 4, 5, 6])


def test_class_ids_of_the_wrong_type():
    with pytest.raises(ImageNetXError, match="integer class ids"):
        Predictions.from_arrays(VAL, ["dog"] * 7)
    with pytest.raises(ImageNetXError, match="non-integer"):
        Predictions.from_arrays(VAL, [1.5] * 7)


def test_duplicate_file_names():
    names = VAL[:6] + [VAL[2]]
    with pytest.raises(
        ImageNetXError, match=r"1 file names appear more than once \(first: 'ILSVRC2012_val_00000003.JPEG'\)"
    ):
        Predictions.from_arrays(names, [1] * 7)
    odd = ["a.jpg", "b.jpg", "a.jpg"]
    with pytest.raises(ImageNetXError, match="appear more than once"):
        Predictions.from_arrays(odd, [1, 2, 3])
    # a record built directly is checked when scored
    direct = Predictions(name="d", file_names=np.array(names, dtype=object), predicted_class=np.ones(7, int))
    with pytest.raises(ImageNetXError, match="appear more than once"):
        score(direct)


def test_unknown_file_names_only():
    with pytest.raises(
        ImageNetXError, match="none of its 2 file names is an annotated ImageNet-X validation image"
    ):
        score(Predictions.from_arrays(["cat.jpg", "dog.jpg"], [1, 2], name="pets"))
    # validation names on the train split
    with pytest.raises(ImageNetXError, match="annotated ImageNet-X train image"):
        score(Predictions.from_arrays(VAL, [1] * 7), split="train")


def test_only_prototypes_says_how_to_keep_them(val_arrays):
    protos = np.asarray(val_arrays.file_names)[val_arrays.is_prototype][:5]
    pred = Predictions.from_arrays(protos, [0] * 5)
    with pytest.raises(ImageNetXError, match="filter_prototypes=False"):
        score(pred)
    assert score(pred, filter_prototypes=False)["coverage"]["used"] == 5


def test_empty_input(tmp_path):
    with pytest.raises(ImageNetXError, match="no predictions given"):
        Predictions.from_arrays([], [])
    with pytest.raises(ImageNetXError, match="no predictions given"):
        score(
            Predictions(name=None, file_names=np.array([], dtype=object), predicted_class=np.array([], int))
        )
    empty = tmp_path / "empty.csv"
    empty.write_text("file_name,predicted_class,predicted_probability\n")
    with pytest.raises(ImageNetXError, match="no predictions given"):
        read_predictions(empty)
    with pytest.raises(ImageNetXError, match="one model"):
        score_arrays(np.ones((2, 5), bool), np.zeros((5, 16), bool))


def test_factors_of_the_wrong_width():
    with pytest.raises(ImageNetXError, match="rows have 15 columns, expected 16"):
        score_arrays(np.ones(5, bool), np.zeros((5, 15), bool))
    with pytest.raises(ImageNetXError, match="2-D"):
        score_arrays(np.ones(2, bool), np.array([[1, 0], [1]], dtype=object))
    with pytest.raises(ImageNetXError, match="only 0/1"):
        score_arrays(np.ones(2, bool), np.full((2, 16), 2))


def test_nan_probabilities(tmp_path):
    with pytest.raises(ImageNetXError, match="NaN or infinite at row 1"):
        Predictions.from_arrays(VAL[:3], [1, 2, 3], [0.5, float("nan"), 0.2])
    path = tmp_path / "m.csv"
    path.write_text("file_name,predicted_class,predicted_probability\n" + f"{VAL[0]},1,0.5\n{VAL[1]},2,\n")
    with pytest.raises(ImageNetXError, match="NaN or infinite at row 1"):
        read_predictions(path)
    with pytest.raises(ImageNetXError, match="outside \\[0, 1\\]"):
        Predictions.from_arrays(VAL[:2], [1, 2], [0.5, 3.2])


def test_bad_files(tmp_path):
    with pytest.raises(ImageNetXError, match="does not exist"):
        read_predictions(tmp_path / "none.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("image,label\nx,1\n")
    with pytest.raises(ImageNetXError, match=r"missing column\(s\) \['file_name', 'predicted_class'\]"):
        read_predictions(wrong)
    text = tmp_path / "names.csv"
    text.write_text(f"file_name,predicted_class\n{VAL[0]},tench\n")
    with pytest.raises(ImageNetXError, match="not integer"):
        read_predictions(text)
    other = tmp_path / "preds.json"
    other.write_text("{}")
    with pytest.raises(ImageNetXError, match="unknown file type"):
        read_predictions(other)


def test_bad_options():
    pred = Predictions.from_arrays(VAL, [1] * 7)
    with pytest.raises(ImageNetXError, match="which_factor must be one of 'top', 'multi', not 'all'"):
        score(pred, which_factor="all")
    with pytest.raises(ImageNetXError, match="error_type must be one of"):
        score(pred, error_type="top5")
    with pytest.raises(ImageNetXError, match="only for split='validation'"):
        score(pred, split="train", error_type="real_class")
    with pytest.raises(ImageNetXError, match="confidence_level"):
        score(pred, confidence_level=95)
    with pytest.raises(ImageNetXError, match="share no scored image"):
        paired_comparison(pred, Predictions.from_arrays(["ILSVRC2012_val_00000100.JPEG"], [1]))


def test_records_built_directly_are_checked():
    """Predictions(...) built without from_arrays get the same checks when scored."""
    names = np.array(VAL, dtype=object)
    with pytest.raises(ImageNetXError, match="predicted_class 1000 at row 0"):
        score(Predictions(name="m", file_names=names, predicted_class=np.full(7, 1000)))
    with pytest.raises(ImageNetXError, match="7 file names but 3 predicted classes"):
        score(Predictions(name="m", file_names=names, predicted_class=np.ones(3, int)))
    with pytest.raises(ImageNetXError, match="NaN or infinite"):
        score(
            Predictions(
                name="m",
                file_names=names,
                predicted_class=np.ones(7, int),
                predicted_probability=np.full(7, np.nan),
            )
        )
    # plain lists are accepted too
    ok = score(Predictions(name="m", file_names=list(VAL), predicted_class=[1] * 7))
    assert ok["coverage"]["predictions"] == 7


def test_only_exact_validation_names_take_the_number_path():
    """Every byte of a validation name changed to every other value: numbered only while still of that form."""
    import pyarrow as pa

    from imagenet_x_hf.metrics.predictions import val_numbers

    base = b"ILSVRC2012_val_00000000.JPEG"
    for pos in range(len(base)):
        for value in range(1, 256):
            name = bytearray(base)
            name[pos] = value
            as_text = pa.array([bytes(name)], pa.binary()).view(pa.string())
            got = val_numbers(as_text)
            if value == base[pos] or (15 <= pos < 23 and 48 <= value <= 57):
                assert got is not None and got.tolist() == [int(name[15:23])]
            else:
                assert got is None, (pos, value)
    assert val_numbers(pa.array(["ILSVRC2012_val_98765432.JPEG"])).tolist() == [98765432]


def test_numbers_of_chunked_names_match_the_joined_names():
    import pyarrow as pa

    from imagenet_x_hf.metrics.predictions import val_numbers

    names = [f"ILSVRC2012_val_{i:08d}.JPEG" for i in (5, 17, 3, 40_000, 9)]
    chunked = pa.chunked_array([pa.array(names[:2]), pa.array([], pa.string()), pa.array(names[1:]).slice(1)])
    assert val_numbers(chunked).tolist() == [5, 17, 3, 40_000, 9]
    assert val_numbers(pa.chunked_array([pa.array(names[:2]), pa.array(["cat.jpg"])])) is None
    assert val_numbers(pa.chunked_array([], pa.string())) is None
