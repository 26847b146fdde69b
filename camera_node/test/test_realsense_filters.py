"""The depth filter parameters on the RealSense driver: librealsense's own blocks.

The recording of test_driver_realsense.py (a software device: a flat wall whose depth
grows 10 mm a frame, a 400-550 mm block in the top-left corner) is played through the
production driver with the filters switched on; the blocks that run are librealsense's
(pyrealsense2), not the node's numpy chain.
"""

import numpy as np
import pytest

rs = pytest.importorskip('pyrealsense2')

from camera_node.core.params import ParameterApplier, ParameterStore  # noqa: E402
import test_driver_realsense as recorded  # noqa: E402
from camera_node.drivers.realsense.driver import RealSenseDriver  # noqa: E402
from test_driver_realsense import (BLOCK, DEPTH_INTR, frame_index, H,  # noqa: E402
                                   make_recording, W, wall_mm)


@pytest.fixture(scope='module')
def recording(tmp_path_factory):
    """Return the recording made with 1 mm depth units.

    The filters' deltas are in the device's units: 1 mm on most D400 cameras.
    """
    saved = recorded.DEPTH_UNITS
    recorded.DEPTH_UNITS = 0.001
    try:
        return make_recording(tmp_path_factory.mktemp('rsfilters') / 'filters.db3')
    finally:
        recorded.DEPTH_UNITS = saved


def open_playback(recording, **given):
    store = ParameterStore(RealSenseDriver.parameters,
                           dict({'playback_file': str(recording)}, **given))
    drv = RealSenseDriver(store)
    applier = ParameterApplier(store)
    for name, handler in drv.option_handlers().items():
        applier.on_change(name, handler)
    drv.open()
    return drv, applier


def frames(drv, n):
    out = []
    for _ in range(200):
        fs = drv.read(0.5)
        if fs is not None:
            out.append(fs)
        if len(out) >= n:
            break
    return out


def test_the_driver_runs_librealsense_blocks_not_the_core_chain():
    assert RealSenseDriver.native_depth_filters
    assert RealSenseDriver({})._depth_filter is None


def test_threshold_then_hole_filling(recording):
    drv, _ = open_playback(recording, **{
        'threshold_filter.enable': True, 'threshold_filter.min_distance': 0.6})
    try:
        fs = frames(drv, 2)[-1]
        assert (fs.depth[:4, :4] == 0).all()                   # the 400-550 mm block: gone
        assert (fs.depth[8:, 8:] == wall_mm(frame_index(fs))).all()
    finally:
        drv.close()
    # only the block kept (farther than 0.6 m removed), then fill_from_left: each row of
    # the block continues to the right edge; rows with nothing on the left stay empty
    drv, _ = open_playback(recording, **{
        'threshold_filter.enable': True, 'threshold_filter.max_distance': 0.6,
        'hole_filling_filter.enable': True, 'hole_filling_filter.holes_fill': 0})
    try:
        fs = frames(drv, 2)[-1]
        assert (fs.depth[:4, 4:] == fs.depth[:4, 3:4]).all()
        assert (fs.depth[:4, :4] == BLOCK).all() and (fs.depth[4:] == 0).all()
    finally:
        drv.close()


def test_decimation_gives_the_sdks_intrinsics_and_keeps_alignment(recording):
    drv, applier = open_playback(recording, **{'decimation_filter.enable': True})
    try:
        fs = frames(drv, 2)[-1]
        assert fs.depth.shape == (H // 2, W // 2)
        intr = fs.depth_intrinsics
        assert (intr.width, intr.height) == (W // 2, H // 2)
        assert intr.fx == pytest.approx(DEPTH_INTR['fx'] / 2, rel=1e-3)
        assert fs.aligned_depth.shape == (H, W)                # rs.align: colour size
        assert drv.properties().depth.width == W
        wall = wall_mm(frame_index(fs))
        assert np.median(fs.depth[4:, 4:]) == pytest.approx(wall, abs=2)
        # switched off at runtime: the next frame sets are full size again
        assert applier.apply([('decimation_filter.enable', False)]) is None
        back = frames(drv, 2)[-1]
        assert back.depth.shape == (H, W) and back.depth_intrinsics is None
    finally:
        drv.close()


def test_temporal_filter_smooths_the_moving_wall(recording):
    drv, applier = open_playback(recording, **{
        'temporal_filter.enable': True, 'temporal_filter.filter_smooth_alpha': 0.2,
        'temporal_filter.filter_smooth_delta': 50.0})
    try:
        got = frames(drv, 5)
        lags = [wall_mm(frame_index(fs)) - int(np.median(fs.depth[8:, 8:])) for fs in got[1:]]
        assert max(lags) > 5                # behind the +10 mm a frame: averaged over frames
        # refused with a reason; in playback too (filters run on the host)
        reason = applier.apply([('temporal_filter.filter_smooth_alpha', 1.5)])
        assert 'within [0.0, 1.0]' in reason
        assert applier.apply([('temporal_filter.enable', False)]) is None
        fs = frames(drv, 2)[-1]
        assert int(np.median(fs.depth[8:, 8:])) == wall_mm(frame_index(fs))
    finally:
        drv.close()
