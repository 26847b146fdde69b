"""The depth filters: the core's numpy chain, alignment after filtering, synthetic noise.

Errors are measured against the synthetic scene's exact depth (the same camera without
noise): the spatial and temporal filters must reduce them, hole filling must put the
back wall into the window that returns no depth. Nothing here is a test double: the
synthetic driver renders, the driver seam filters.
"""

import cv2
import numpy as np
import pytest

from camera_node.core import depthops
from camera_node.core.align import align_depth
from camera_node.core.cloud import deproject, project
from camera_node.core.depthfilter import DepthFilter
from camera_node.core.filterparams import FILTER_PARAMETERS, FilterSettings
from camera_node.core.params import ParameterApplier, ParameterStore
from camera_node.core.types import Extrinsics, FrameSet, Intrinsics
from camera_node.drivers.synthetic import scene
from camera_node.drivers.synthetic.driver import SyntheticDriver
from camera_node.drivers.synthetic.params import PARAMETERS

NOISE = {'depth_noise': 1.0, 'depth_holes': 0.02}


def driver(**given):
    """An open synthetic driver with these parameters (and an applier for changes)."""
    store = ParameterStore(PARAMETERS, given)
    d = SyntheticDriver(store)
    applier = ParameterApplier(store)
    for name, handler in d.option_handlers().items():
        applier.on_change(name, handler)
    d.open()
    d.applier = applier
    return d


@pytest.fixture(scope='module')
def truth():
    """The exact depth of the default synthetic camera, and where it has no edges."""
    d = driver()
    try:
        fs = d.read(2.0)
        props = d.properties()
    finally:
        d.close()
    z = fs.depth.astype(np.float32)
    kernel = np.ones((5, 5), np.uint8)
    flat = (cv2.dilate(z, kernel) - cv2.erode(z, kernel)) < 30      # no step within 2 px
    return fs, props, flat


def rms_error(depth, truth_fs, flat):
    m = flat & (depth > 0) & (truth_fs.depth > 0)
    err = depth[m].astype(np.float64) - truth_fs.depth[m]
    return float(np.sqrt(np.mean(err ** 2)))


def read(d, n=1):
    out = None
    for _ in range(n):
        out = d.read(2.0)
        assert out is not None
    return out


# -- the default camera is unchanged --------------------------------------------------------
def test_noise_and_filters_are_off_by_default(truth):
    fs, props, _ = truth
    d = driver()
    try:
        got, again = read(d), read(d)
        assert d._depth_filter is not None and not FilterSettings.from_options(
            d.options).active
        assert np.array_equal(got.depth, fs.depth)
        assert again.depth is got.depth and again.aligned_depth is got.aligned_depth  # no copy
        assert got.depth_intrinsics is None
    finally:
        d.close()
    for spec in FILTER_PARAMETERS:
        assert not spec.read_only, spec.name
        if spec.name.endswith('.enable'):
            assert spec.default is False, spec.name


# -- noise, spatial, temporal, holes, measured against the scene ------------------------------
def test_spatial_filter_reduces_the_error_and_keeps_edges(truth):
    fs, props, flat = truth
    noisy_d = driver(**NOISE)
    filtered_d = driver(**NOISE, **{'spatial_filter.enable': True})
    try:
        noisy, filtered = read(noisy_d), read(filtered_d)
    finally:
        noisy_d.close()
        filtered_d.close()
    before, after = rms_error(noisy.depth, fs, flat), rms_error(filtered.depth, fs, flat)
    print('spatial: RMS error %.2f -> %.2f mm' % (before, after))
    assert before > 5.0                        # the noise is there (1 mm at 1 m: 9 at 3 m)
    assert after < 0.75 * before
    # edges kept: at the box's left edge the 1 m step stays a step, not a ramp
    row = 400
    step = np.abs(np.diff(filtered.depth[row, 100:300].astype(np.int32)))
    assert step.max() > 500
    assert np.count_nonzero(filtered.depth == 0) == np.count_nonzero(noisy.depth == 0)


def test_temporal_filter_reduces_the_error_over_frames(truth):
    fs, props, flat = truth
    noisy_d = driver(**NOISE)
    filtered_d = driver(**NOISE, **{'temporal_filter.enable': True})
    try:
        noisy, filtered = read(noisy_d, 10), read(filtered_d, 10)
    finally:
        noisy_d.close()
        filtered_d.close()
    before, after = rms_error(noisy.depth, fs, flat), rms_error(filtered.depth, fs, flat)
    print('temporal (10 frames): RMS error %.2f -> %.2f mm' % (before, after))
    assert after < 0.85 * before
    # persistency (default 3: valid in 2 of the last 4 frames) fills the random holes
    holes = lambda f: np.count_nonzero(f.depth == 0)            # noqa: E731
    assert holes(filtered) < holes(noisy)
    assert holes(filtered) == pytest.approx(holes(fs), rel=0.02)


def test_hole_filling_puts_the_wall_behind_the_window(truth):
    fs, props, flat = truth
    window = fs.depth == 0                    # the window is the only hole of the exact scene
    assert window.sum() > 5000
    d = driver(**NOISE, **{'hole_filling_filter.enable': True})
    try:
        got = read(d)
        assert np.count_nonzero(got.depth == 0) == 0
        # farest_from_around: the wall around the window (3 m, noise 9 mm there) fills it
        assert abs(float(np.median(got.depth[window])) - 1000 * scene.WALL_Z) < 20
        assert d.applier.apply([('hole_filling_filter.holes_fill', 0)]) is None
        left = read(d)
        assert np.count_nonzero(left.depth == 0) < np.count_nonzero(window)
    finally:
        d.close()
    exact = driver(**{'hole_filling_filter.enable': True})
    try:
        got = read(exact)
        assert np.all(got.depth[window] == 1000 * scene.WALL_Z)    # the wall plane, exactly
        assert np.array_equal(got.depth[~window], fs.depth[~window])
    finally:
        exact.close()


def test_threshold_and_runtime_changes_are_validated(truth):
    fs, props, flat = truth
    d = driver()
    try:
        assert d.applier.apply([('threshold_filter.enable', True),
                                ('threshold_filter.max_distance', 2.5)]) is None
        got = read(d)
        assert got.depth.max() <= 2500 and got.depth[fs.depth > 2500].max() == 0
        assert np.array_equal(got.depth[(fs.depth >= 100) & (fs.depth <= 2500)],
                              fs.depth[(fs.depth >= 100) & (fs.depth <= 2500)])
        reason = d.applier.apply([('threshold_filter.min_distance', 3.0)])
        assert 'min_distance (3 m) must be below threshold_filter.max_distance (2.5 m)' \
            in reason
        assert 'within' in d.applier.apply([('spatial_filter.filter_smooth_alpha', 0.1)])
        assert 'must be one of 0, 1, 2' in d.applier.apply(
            [('hole_filling_filter.holes_fill', 3)])
        assert 'must be an integer' in d.applier.apply(
            [('decimation_filter.filter_magnitude', 2.5)])
        assert d.options['threshold_filter.min_distance'] == 0.1        # nothing changed
        assert d.applier.apply([('threshold_filter.enable', False)]) is None
        assert read(d).depth is not None and np.array_equal(read(d).depth, fs.depth)
    finally:
        d.close()


# -- decimation, intrinsics and alignment --------------------------------------------------------
def test_decimated_intrinsics_keep_points_where_they_project():
    intr = Intrinsics(640, 480, 600.0, 590.0, 318.7, 241.2)
    pts = np.array([[0.3, -0.2, 2.0], [-1.0, 0.5, 3.5], [0.0, 0.0, 1.0]])
    uv = project(pts, intr)
    for d in (2, 3, 4):
        dec = depthops.decimated_intrinsics(intr, d)
        assert (dec.width, dec.height) == (640 // d, 480 // d)
        # output pixel u' covers input d u' .. d u' + d - 1: centre d u' + (d - 1) / 2
        np.testing.assert_allclose(d * project(pts, dec) + (d - 1) / 2.0, uv, atol=1e-9)


def test_decimation_takes_the_median_or_mean_of_valid_pixels():
    depth = np.array([[1000, 1002, 0, 0, 7, 9],
                      [1004, 0, 0, 0, 8, 10]], dtype=np.uint16)
    assert depthops.decimate(depth, 2).tolist() == [[1002, 0, 8]]   # lower median of 3
    block = np.zeros((4, 4), np.uint16)
    block[0, :3] = (100, 200, 400)
    assert depthops.decimate(block, 4).tolist() == [[233]]          # mean of the valid 3
    assert depthops.decimate(np.zeros((5, 7), np.uint16), 3).shape == (1, 2)


def test_fill_holes_modes():
    depth = np.array([[0, 500, 0, 0, 900, 0]], dtype=np.uint16)
    assert depthops.fill_holes(depth, 0).tolist() == [[0, 500, 500, 500, 900, 900]]
    assert depthops.fill_holes(depth, 1).tolist() == [[500, 500, 900, 900, 900, 900]]
    assert depthops.fill_holes(depth, 2).tolist() == [[500, 500, 500, 500, 900, 900]]
    assert depthops.fill_holes(np.zeros((2, 2), np.uint16), 1).tolist() == [[0, 0], [0, 0]]


def test_temporal_persistency_modes():
    valid = np.full((1, 1), 1000, np.uint16)
    hole = np.zeros((1, 1), np.uint16)
    for mode, frames_valid, kept in ((0, 8, False), (1, 8, True), (1, 7, False),
                                     (5, 1, True), (3, 1, False), (8, 1, True)):
        state = depthops.TemporalState()
        for _ in range(8 - frames_valid):
            state.apply(hole, 0.4, 20.0, mode)
        for _ in range(frames_valid):
            state.apply(valid, 0.4, 20.0, mode)
        out = state.apply(hole, 0.4, 20.0, mode)
        assert (int(out[0, 0]) == 1000) is kept, (mode, frames_valid)
    state = depthops.TemporalState()
    state.apply(valid, 0.4, 20.0, 0)
    assert int(state.apply(np.full((1, 1), 1010, np.uint16), 0.4, 20.0, 0)[0, 0]) == 1004
    assert int(state.apply(np.full((1, 1), 1500, np.uint16), 0.4, 20.0, 0)[0, 0]) == 1500


def test_alignment_reproduces_the_rendered_aligned_depth(truth):
    fs, props, flat = truth
    aligned = align_depth(fs.depth, props.depth, props.color, props.depth_to_color)
    ref = fs.aligned_depth
    both = (aligned > 0) & (ref > 0)
    diff = np.abs(aligned.astype(np.int32) - ref)
    z = ref.astype(np.float32)
    smooth = (cv2.dilate(z, np.ones((3, 3))) - cv2.erode(z, np.ones((3, 3)))) < 50
    assert both.sum() > 0.95 * (ref > 0).sum()
    assert np.median(diff[both & smooth]) == 0 and np.percentile(diff[both & smooth], 99) <= 10
    # colour pixels the depth imager cannot see (parallax behind the box and sphere) stay 0
    assert ((ref > 0) & (aligned == 0)).sum() < 0.01 * ref.size
    # decimated depth registers to the full colour image, covering it as densely
    for d in (2, 4):
        dec = depthops.decimate(fs.depth, d)
        up = align_depth(dec, depthops.decimated_intrinsics(props.depth, d), props.color,
                         props.depth_to_color)
        assert up.shape == ref.shape
        assert abs((up > 0).mean() - (ref > 0).mean()) < 0.01
        assert np.median(np.abs(up[both & smooth].astype(np.int32) - ref[both & smooth])) < 5
    same = align_depth(fs.depth, props.depth, props.depth, Extrinsics())
    assert np.array_equal(same, fs.depth) and same is not fs.depth


def test_decimation_through_the_driver_keeps_depth_and_cloud_consistent(truth):
    fs, props, flat = truth
    d = driver(**{'decimation_filter.enable': True, 'decimation_filter.filter_magnitude': 4})
    try:
        got = read(d)
        assert got.depth.shape == (120, 160)
        intr = got.depth_intrinsics
        assert (intr.width, intr.height) == (160, 120)
        assert got.aligned_depth.shape == (480, 640)
        assert d.properties().depth.width == 640          # the device's own size is kept
        # every decimated pixel back-projects to a point on the scene's surfaces: the
        # same point the full-size depth gives at that block's centre
        v, u = np.nonzero(got.depth)
        pts = deproject(u, v, got.depth[v, u] / 1000.0, intr)
        uv = np.rint(project(pts, props.depth)).astype(int)
        full = fs.depth[uv[:, 1], uv[:, 0]].astype(np.float64)
        ok = flat[uv[:, 1], uv[:, 0]]
        assert np.median(np.abs(full[ok] - got.depth[v, u][ok])) <= 2
        assert d.applier.apply([('decimation_filter.enable', False)]) is None
        back = read(d)
        assert back.depth.shape == (480, 640) and back.depth_intrinsics is None
    finally:
        d.close()


def test_chain_on_a_driver_without_extrinsics_filters_both_images():
    intr = Intrinsics(8, 6, 10.0, 10.0, 3.5, 2.5)
    depth = np.full((6, 8), 1000, np.uint16)
    depth[2, 3] = 0
    fs = FrameSet(color=np.zeros((6, 8, 3), np.uint8), depth=depth, aligned_depth=depth)
    from camera_node.core.types import CameraProperties
    props = CameraProperties(color=intr, depth=intr, depth_to_color=None)
    out = DepthFilter().process(fs, props, FilterSettings(hole_filling=1))
    assert out.depth[2, 3] == 1000 and out.aligned_depth[2, 3] == 1000
    assert not out.depth.flags.writeable and fs.depth[2, 3] == 0     # the input is unchanged
