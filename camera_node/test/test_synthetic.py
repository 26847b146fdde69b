"""The synthetic driver: colour and depth agree with the known scene, deterministically."""

import time

import numpy as np
import pytest

from camera_node.core import cloud as geometry
from camera_node.core.errors import DriverError
from camera_node.core.filterparams import FILTER_NAMES
from camera_node.core.params import ParameterApplier, ParameterStore
from camera_node.drivers import driver_class
from camera_node.core.types import default_intrinsics
from camera_node.drivers.synthetic import scene as syn
from camera_node.drivers.synthetic.driver import DEPTH_ORIGIN, SyntheticDriver
from camera_node.drivers.synthetic.params import PARAMETERS
from camera_node.drivers.synthetic.sphere import MovingSphere


@pytest.fixture
def cam():
    with SyntheticDriver({'width': 320, 'height': 240, 'fps': 200.0}) as d:
        yield d


def pixel_of(point, intr):
    u, v = geometry.project(np.array([point]), intr)[0]
    return int(round(u)), int(round(v))


def test_wall_floor_box_depths_match_scene(cam):
    fs = cam.read(1.0)
    intr = cam.properties().color
    d = fs.aligned_depth
    u, v = pixel_of((-0.3, -0.5, syn.WALL_Z), intr)
    assert d[v, u] == 3000
    u, v = pixel_of((-0.7, 0.5, syn.BOX_MIN[2]), intr)       # box front face
    assert d[v, u] == 1800
    u, v = pixel_of((0.0, syn.FLOOR_Y, 2.6), intr)            # floor between box and sphere
    z = d[v, u] / 1000.0
    y = z * (v - intr.cy) / intr.fy
    assert y == pytest.approx(syn.FLOOR_Y, abs=0.003)
    u, v = pixel_of((1.15, -0.65, syn.WALL_Z), intr)          # the window: no return
    assert d[v, u] == 0


def test_every_depth_point_lies_on_a_scene_surface(cam):
    fs = cam.read(1.0)
    intr = cam.properties().color
    buf = geometry.CloudBuffer(geometry.RayTable(intr))
    buf.fill(fs.aligned_depth, fs.color)
    p = buf.points()[..., :3].reshape(-1, 3).astype(np.float64)
    p = p[~np.isnan(p[:, 2])]
    on_wall = np.abs(p[:, 2] - syn.WALL_Z) < 0.002
    on_floor = np.abs(p[:, 1] - syn.FLOOR_Y) < 0.004
    on_sphere = np.abs(np.linalg.norm(p - syn.SPHERE_CENTER, axis=1) - syn.SPHERE_RADIUS) < 0.004
    inside_box = np.all((p > syn.BOX_MIN - 0.004) & (p < syn.BOX_MAX + 0.004), axis=1)
    assert np.all(on_wall | on_floor | on_sphere | inside_box)
    assert on_wall.sum() > 1000 and on_floor.sum() > 500 and on_sphere.sum() > 500


def test_colour_shows_the_surface_the_depth_hits(cam):
    fs = cam.read(1.0)
    intr = cam.properties().color
    u, v = pixel_of(syn.SPHERE_CENTER - [0, 0, syn.SPHERE_RADIUS], intr)
    r, g, b = fs.color[v, u]
    assert g > r and g > b                                     # the sphere is green
    u, v = pixel_of((-0.7, 0.5, syn.BOX_MIN[2]), intr)
    assert tuple(fs.color[v, u]) == (210, 50, 40)              # box front face


def test_depth_imager_is_offset_from_colour(cam):
    fs = cam.read(1.0)
    props = cam.properties()
    np.testing.assert_allclose(props.depth_to_color.translation, DEPTH_ORIGIN)
    # the sphere's silhouette shifts between the two images (parallax), the wall does not
    assert not np.array_equal(fs.depth, fs.aligned_depth)
    assert fs.depth[5, 5] == fs.aligned_depth[5, 5] == 3000


def test_deterministic_and_static_without_motion():
    a = SyntheticDriver({'width': 160, 'height': 120, 'fps': 200.0})
    b = SyntheticDriver({'width': 160, 'height': 120, 'fps': 200.0})
    with a, b:
        fa, fb = a.read(1.0), b.read(1.0)
        assert np.array_equal(fa.color, fb.color)
        assert np.array_equal(fa.depth, fb.depth)
        assert np.array_equal(a.read(1.0).aligned_depth, b.read(1.0).aligned_depth)


def test_motion_moves_only_the_sphere():
    with SyntheticDriver({'width': 160, 'height': 120, 'fps': 200.0,
                          'motion': True}) as d:
        frames = [d.read(1.0) for _ in range(15)]
    diff = frames[0].aligned_depth != frames[-1].aligned_depth
    assert diff.any()
    intr = default_intrinsics(160, 120, 60.0)
    u, v = pixel_of((-0.7, 0.5, syn.BOX_MIN[2]), intr)
    assert not diff[v, u]


def test_frames_are_read_only_and_stamped(cam):
    f1 = cam.read(1.0)
    f2 = cam.read(1.0)
    assert not f1.color.flags.writeable
    assert f2.stamp_ns >= f1.stamp_ns > 0
    assert f1.color.dtype == np.uint8 and f1.color.shape == (240, 320, 3)
    assert f1.depth.dtype == np.uint16


def test_driver_contract():
    d = SyntheticDriver({'width': 64, 'height': 48})
    with pytest.raises(DriverError):
        d.read(0.1)
    d.open()
    assert d.is_open
    d.close()
    d.close()                                                   # idempotent
    assert not d.is_open
    d.open()                                                    # close -> open works
    assert d.read(1.0) is not None
    d.close()


def test_runtime_options():
    """Runtime changes go through the one applier: spec first, then the driver."""
    store = ParameterStore(PARAMETERS, {'width': 64, 'height': 48})
    applier = ParameterApplier(store)
    with SyntheticDriver(store) as d:
        for name, handler in d.option_handlers().items():
            applier.on_change(name, handler)
        assert sorted(n for n in d.option_handlers() if n not in FILTER_NAMES) == [
            'depth_holes', 'depth_noise', 'depth_noise_seed', 'emitter_enabled',
            'emitter_on_off', 'fps', 'motion']
        assert FILTER_NAMES <= set(d.option_handlers())     # the depth filters: runtime too
        assert applier.apply([('fps', 15.0)]) is None
        assert d.properties().fps == 15.0 and d.options['fps'] == 15.0
        assert 'fps must be within' in applier.apply([('fps', 1000.0)])
        assert d.properties().fps == 15.0 and d.options['fps'] == 15.0
        assert applier.apply([('fps', 12)]) is None                 # an integer for a double
        assert d.options['fps'] == 12.0


def test_registry_lists_known_drivers_on_unknown_name():
    with pytest.raises(DriverError) as info:
        driver_class('kinect')
    for name in ('synthetic', 'realsense', 'oakd', 'webcam', 'file'):
        assert name in str(info.value)
    assert driver_class('synthetic') is SyntheticDriver


def test_registry_imports_vendor_sdks_lazily():
    import subprocess
    import sys
    code = ('import sys; from camera_node.drivers import driver_class; '
            'driver_class("synthetic"); '
            'print(sorted(m for m in ("pyrealsense2", "depthai") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == '[]'


@pytest.mark.parametrize('origin', [np.zeros(3), DEPTH_ORIGIN])
def test_moving_sphere_agrees_with_the_float64_cast(origin):
    """Per frame the sphere is cast in float32 in its tight box: the same image as float64.

    Allowed: 1 mm and 1 colour level (float32 rounding), and a few grazing rays at the
    silhouette that one cast counts as a hit and the other as a miss.
    """
    view = syn.View(default_intrinsics(320, 240, 60.0), origin)
    for seq in range(0, 120, 7):
        center = syn.sphere_center(seq, 30.0, True)
        rgb, depth = np.empty_like(view.rgb), np.empty_like(view.depth)
        view.render(center, rgb, depth)
        rgb2, depth2 = np.empty_like(view.rgb), np.empty_like(view.depth)
        MovingSphere(view).render(center, rgb2, depth2)
        sphere = depth != view.depth
        assert sphere.sum() > 2000
        off = np.abs(depth.astype(int) - depth2) > 1
        assert off.sum() <= 3, seq
        close = np.abs(rgb.astype(int) - rgb2).max(-1) <= 1
        assert np.all(close | off), seq


def test_recycled_images_leave_kept_frames_alone():
    """Frames somebody holds keep their pixels while later frames are drawn."""
    opts = {'width': 160, 'height': 120, 'fps': 200.0, 'motion': True}
    with SyntheticDriver(opts) as d, SyntheticDriver(opts) as ref:
        kept = [d._render(seq) for seq in range(6)]        # all held: six sets made
        for seq in range(6, 40):
            d._render(seq)                                  # dropped at once: recycled
        assert d._pool.made == 7
        for seq, fs in enumerate(kept):
            want = ref._render(seq)
            assert np.array_equal(fs.color, want.color), seq
            assert np.array_equal(fs.depth, want.depth), seq
            assert np.array_equal(fs.aligned_depth, want.aligned_depth), seq
            assert not fs.color.flags.writeable
        del kept, fs
        for seq in (40, 41, 42):                            # now free: reused, redrawn right
            assert np.array_equal(d._render(seq).color, ref._render(seq).color)
        assert d._pool.made == 7


def test_frames_are_handed_over_at_their_stamp():
    """A scene at rest is rendered ahead and read() returns once the stamp has come."""
    with SyntheticDriver({'width': 160, 'height': 120, 'fps': 100.0, 'motion': True}) as d:
        for _ in range(20):
            fs = d.read(1.0)
            t = (fs.stamp_ns - d._epoch0) / 1e9
            assert time.monotonic() >= d._mono0 + t
        assert d._lead > 0.0


def test_moving_sphere_hidden_where_a_static_surface_is_nearer():
    """Where a static surface stands in front, the sphere is not drawn (as the float64 cast)."""
    view = syn.View(default_intrinsics(320, 240, 60.0), np.zeros(3))
    view.t[:, :200] = 1.0                  # a pane 1 m away over the sphere's left part
    moving = MovingSphere(view)
    center = syn.sphere_center(0, 30.0, True)
    rgb, depth = np.empty_like(view.rgb), np.empty_like(view.depth)
    view.render(center, rgb, depth)
    rgb2, depth2 = np.empty_like(view.rgb), np.empty_like(view.depth)
    moving.render(center, rgb2, depth2)
    u0, u1, v0, v1 = moving.box(center - view.origin)
    assert u0 < 200 < u1                   # the pane covers part of the sphere's box
    assert np.array_equal(depth2[:, :200], view.depth[:, :200])
    assert (depth2[:, 200:] != view.depth[:, 200:]).sum() > 1000
    assert (np.abs(depth.astype(int) - depth2) > 1).sum() <= 3
