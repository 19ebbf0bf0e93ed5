"""ARKit-52 names, mirroring and layout conversions by name (issue 4, item 1)."""

import numpy as np
import pytest

from blendtalk.arkit import (ARKIT_NAMES, INDEX, LAYOUTS, LR_PAIRS, MIRROR_INDEX, check_weights, convert,
                             from_layout, missing_channels, mirror, to_layout)
from blendtalk.blendshapes.augment import augment
from blendtalk.livelink import write_livelink_csv
from blendtalk.metrics.blendshape import region_errors
from blendtalk.metrics.mesh import mesh_metrics
from blendtalk.render.sphere_rig import build_sphere_rig

LACKS_TONGUE = ("mediapipe", "reference51")


def _random(n=7, seed=0, tongue=True):
    x = np.random.default_rng(seed).random((n, 52)).astype(np.float32)
    if not tongue:
        x[:, INDEX["tongueOut"]] = 0
    return x


def test_layout_definitions():
    assert LAYOUTS["canonical"] == ARKIT_NAMES
    assert LAYOUTS["alphabetical"] == tuple(sorted(ARKIT_NAMES))
    assert LAYOUTS["alphabetical"][:3] == ("browDownLeft", "browDownRight", "browInnerUp")
    mp = LAYOUTS["mediapipe"]
    assert len(mp) == 52 and mp[0] == "_neutral" and "tongueOut" not in mp
    assert list(mp[1:]) == sorted(mp[1:])
    assert LAYOUTS["reference51"] == mp[1:] and len(mp[1:]) == 51
    assert LAYOUTS["livelink"][0] == "EyeBlinkLeft" and LAYOUTS["livelink"][-1] == "TongueOut"
    assert missing_channels("mediapipe") == ("tongueOut",)
    assert missing_channels("alphabetical") == ()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_round_trip_canonical_through_every_layout(layout):
    x = _random(tongue=layout not in LACKS_TONGUE)
    y = to_layout(x, layout)
    assert y.shape == (7, len(LAYOUTS[layout])) and y.dtype == np.float32
    assert np.array_equal(from_layout(y, layout), x)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_round_trip_layout_through_canonical(layout):
    y = np.random.default_rng(1).random((5, len(LAYOUTS[layout])))
    if layout == "mediapipe":
        y[:, 0] = 0  # `_neutral` is a MediaPipe score, not a blendshape: it is not kept
    assert np.array_equal(to_layout(from_layout(y, layout), layout), y)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_conversion_goes_by_name(layout):
    for name in ARKIT_NAMES:
        onehot = np.zeros(52)
        onehot[INDEX[name]] = 0.5
        if name == "tongueOut" and layout in LACKS_TONGUE:
            continue
        y = to_layout(onehot, layout)
        col = [n[0].lower() + n[1:] for n in LAYOUTS[layout]].index(name)
        assert y[col] == 0.5 and y.sum() == 0.5


@pytest.mark.parametrize("layout", LACKS_TONGUE)
def test_tongue_out_is_handled_explicitly(layout):
    x = _random()
    with pytest.raises(ValueError, match="tongueOut"):
        to_layout(x, layout)
    y = to_layout(x, layout, drop_tongue=True)
    back = from_layout(y, layout)
    assert np.all(back[:, INDEX["tongueOut"]] == 0)
    keep = [i for i in range(52) if i != INDEX["tongueOut"]]
    assert np.array_equal(back[:, keep], x[:, keep])


def test_mediapipe_neutral_is_zero_and_dropped():
    y = to_layout(_random(tongue=False), "mediapipe")
    assert np.all(y[:, 0] == 0)
    y[:, 0] = 0.9
    assert from_layout(y, "mediapipe").shape == (7, 52)


def test_convert_between_layouts_and_errors():
    x = _random(tongue=False)
    alpha = to_layout(x, "alphabetical")
    assert np.array_equal(convert(alpha, "alphabetical", "reference51"), to_layout(x, "reference51"))
    with pytest.raises(ValueError, match="unknown layout"):
        to_layout(x, "blender")
    with pytest.raises(ValueError, match=r"\(\.\.\., 51\)"):
        from_layout(x, "reference51")


def test_mirror_swaps_left_and_right():
    assert len(LR_PAIRS) == 20
    x = _random()
    m = mirror(x)
    assert np.array_equal(mirror(m), x)
    for i, name in enumerate(ARKIT_NAMES):
        partner = name.replace("Left", "Right") if name.endswith("Left") else (
            name.replace("Right", "Left") if name.endswith("Right") else name)
        assert ARKIT_NAMES[MIRROR_INDEX[i]] == partner
        assert np.array_equal(m[:, i], x[:, INDEX[partner]])
    assert np.array_equal(m[:, INDEX["jawLeft"]], x[:, INDEX["jawRight"]])
    assert np.array_equal(m[:, INDEX["browInnerUp"]], x[:, INDEX["browInnerUp"]])


def test_check_weights_states_the_source_and_the_expected_shape():
    w = np.zeros((3, 52), np.float32)
    assert check_weights(w, ndim=2) is w  # float32 input is not copied
    assert check_weights(np.zeros(52, np.float64), ndim=1).dtype == np.float32
    assert check_weights(np.zeros((2, 3, 52))).shape == (2, 3, 52)
    for bad, ndim, shape in ((np.zeros((3, 51)), 2, r"\(T, 52\)"), (np.zeros(52), 2, r"\(T, 52\)"),
                             (np.zeros((2, 52)), 1, r"\(52,\)"), (np.float32(1), None, r"\(\.\.\., 52\)")):
        with pytest.raises(ValueError, match=rf"^take\.npy: expected {shape} weights, got shape"):
            check_weights(bad, ndim=ndim, what="take.npy")
    with pytest.raises(ValueError, match=r"^x: expected numeric \(T, 52\) weights, got str"):
        check_weights("abc", ndim=2, what="x")
    w[1, INDEX["jawOpen"]] = np.nan
    with pytest.raises(ValueError, match=r"^x: row 1, column jawOpen: nan is not finite \(NaN and infinity"):
        check_weights(w, what="x")



SPHERE = build_sphere_rig(3)
WEIGHT_CONSUMERS = {  # every function that takes (T, 52) weights, on given weights
    "write_livelink_csv": lambda w, tmp: write_livelink_csv(tmp / "x.csv", w),
    "Rig.pose": lambda w, tmp: SPHERE.pose(w),
    "mesh_metrics": lambda w, tmp: mesh_metrics(SPHERE, w, w),
    "region_errors": lambda w, tmp: region_errors(w, w),
    "augment": lambda w, tmp: augment(w, [f"{i:016x}" for i in range(len(w))], seed=0, jitter=0.1),
}


@pytest.mark.parametrize("consumer", WEIGHT_CONSUMERS)
def test_every_weights_consumer_refuses_wrong_shapes_and_nan_alike(consumer, tmp_path):
    call = WEIGHT_CONSUMERS[consumer]
    call(np.full((2, 52), 0.5, np.float32), tmp_path)  # good weights pass
    with pytest.raises(ValueError, match=r"expected \((T|\.\.\.), 52\) weights, got shape \(2, 51\)"):
        call(np.zeros((2, 51), np.float32), tmp_path)
    nan = np.zeros((2, 52), np.float32)
    nan[1, INDEX["browInnerUp"]] = np.nan
    with pytest.raises(ValueError, match=r"row 1, column browInnerUp: nan is not finite"):
        call(nan, tmp_path)
