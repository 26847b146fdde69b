"""CameraClient and the snapshot tool against camera nodes in other processes, over DDS."""

import asyncio
import contextlib
from datetime import datetime, timedelta, timezone
import json
import math
import os
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node

from camera_node.viam import codecs as vf
from camera_node.viam import pcd
from camera_node.client import (CameraClient, CameraClientError, CameraError, Properties,
                                ViamLikeImage)

from conftest import NodeProcess

W, H = 160, 120
NS = 'clienttest'
WALL_PIXEL = (5, 5)                   # (row, column) on the back wall, 3.0 m away
#: a pixel of the wall's "window" (no depth return): x=1.15 m, y=-0.65 m at z=3 m
WINDOW_PIXEL = (30, 132)
ABSENT_NS = 'nobody_here_%d' % os.getpid()
GEOMETRIES = [
    {'type': 'box', 'label': 'housing', 'x': 10.0, 'y': 20.0, 'z': 30.0,
     'o_x': 0.0, 'o_y': 0.0, 'o_z': 1.0, 'theta': 0.0, 'dims_mm': [90, 25, 25]},
    {'type': 'sphere', 'label': 'ball', 'x': 0.0, 'y': 0.0, 'z': 0.0,
     'o_x': 0.0, 'o_y': -0.7071, 'o_z': 0.7071, 'theta': 90.0, 'radius_mm': 5},
    {'type': 'capsule', 'label': 'cable', 'x': 0.0, 'y': 0.0, 'z': -50.0,
     'o_x': 0.0, 'o_y': 0.0, 'o_z': 1.0, 'theta': 0.0, 'radius_mm': 10, 'length_mm': 40},
]


@pytest.fixture(scope='module')
def camera():
    proc = NodeProcess(namespace=NS, name='camera',
                       params={'width': W, 'height': H, 'fps': 15.0,
                               'geometries': json.dumps(GEOMETRIES)})
    assert proc.wait_output('publishing', 30), proc.output()
    yield proc
    assert proc.stop() == 0, proc.output()


@pytest.fixture(scope='module')
def client_node(rclpy_context):
    node = Node('client_test_%d' % os.getpid())
    yield node
    node.destroy_node()


@pytest.fixture(scope='module')
def client(camera, client_node):
    c = CameraClient(client_node, name='camera', namespace=NS)
    yield c
    c.destroy()


def synthetic_intrinsics(w, h):
    f = (w / 2.0) / math.tan(math.radians(30.0))
    return f, f, (w - 1) / 2.0, (h - 1) / 2.0


# --------------------------------------------------------------------------- images

def test_client_spins_the_node_itself_when_it_has_no_executor(client, client_node):
    assert client.spins_itself and client_node.executor is not None
    assert client.service_name('get_image') == '/%s/camera/get_image' % NS


def test_get_image_default_is_colour_jpeg(client):
    img = client.get_image()
    assert isinstance(img, ViamLikeImage)
    assert (img.mime_type, img.source_name) == (vf.MIME_JPEG, 'color')
    assert img.data[:3] == vf.JPEG_MAGIC
    assert (img.width, img.height) == (W, H)
    rgb = img.to_numpy()
    assert rgb.shape == (H, W, 3) and rgb.dtype == np.uint8
    assert img.to_pil().size == (W, H) and img.to_pil().mode == 'RGB'
    assert img.ros_image is None            # the raw frame comes only when asked for
    raw = client.get_image(extra={'ros_image': True})
    assert raw.ros_image.encoding == 'rgb8' and raw.ros_image.width == W
    assert np.abs(raw.to_numpy().astype(int) - np.frombuffer(
        bytes(raw.ros_image.data), np.uint8).reshape(H, W, 3)).mean() < 6
    assert img.captured_at is not None and img.captured_at.tzinfo is not None


def test_get_image_depth_has_the_wall_at_3000_mm(client):
    img = client.get_image('image/vnd.viam.dep', extra={'ros_image': True})
    assert (img.mime_type, img.source_name) == (vf.MIME_VIAM_DEP, 'depth')
    assert (img.width, img.height) == (W, H)
    depth = img.bytes_to_depth_array()
    assert depth.shape == (H, W) and depth.dtype == np.uint16
    assert depth[WALL_PIXEL] == 3000
    assert depth[WALL_PIXEL[0]][WALL_PIXEL[1]] == 3000      # Viam's [y][x] indexing
    assert depth[WINDOW_PIXEL] == 0
    assert np.array_equal(img.to_numpy(), depth)
    assert img.to_pil().mode == 'I;16'
    assert img.ros_image.encoding == '16UC1'


def test_lossless_colour_types_decode_to_the_same_pixels(client):
    rgba = client.get_image('image/vnd.viam.rgba')
    png = client.get_image('image/png+lazy')
    assert rgba.mime_type == vf.MIME_VIAM_RGBA and png.mime_type == vf.MIME_PNG
    assert (rgba.width, rgba.height) == (png.width, png.height) == (W, H)
    assert np.array_equal(rgba.to_numpy(), png.to_numpy())   # the scene does not move


def test_unproducible_type_falls_back_and_says_so(client):
    img = client.get_image('pointcloud/pcd')
    assert img.mime_type == vf.MIME_JPEG and img.source_name == 'color'
    with pytest.raises(ValueError, match='vnd.viam.dep'):
        img.bytes_to_depth_array()


def test_get_image_source_from_extra(client):
    img = client.get_image(extra={'source': 'depth'})
    assert img.source_name == 'depth' and img.mime_type == vf.MIME_VIAM_DEP


def test_get_images_returns_colour_and_depth_of_one_frame_set(client):
    images, meta = client.get_images()
    by_name = {i.source_name: i for i in images}
    assert set(by_name) == {'color', 'depth'}
    assert by_name['color'].mime_type == vf.MIME_JPEG
    assert by_name['color'].name == 'color'
    depth = by_name['depth'].bytes_to_depth_array()
    assert depth[WALL_PIXEL] == 3000
    assert by_name['color'].to_numpy().shape[:2] == depth.shape == (H, W)
    assert isinstance(meta.captured_at, datetime)
    assert meta.captured_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - meta.captured_at) < timedelta(minutes=1)
    assert meta.stamp_ns > 0
    assert all(i.captured_at == meta.captured_at for i in images)


def test_get_images_filter_and_colour_type(client):
    images, _ = client.get_images(['depth'])
    assert [i.source_name for i in images] == ['depth']
    images, _ = client.get_images(['color'], extra={'mime_type': 'image/png'})
    assert [(i.source_name, i.mime_type) for i in images] == [('color', vf.MIME_PNG)]


def test_error_answer_raises_camera_error_with_the_nodes_text(client):
    with pytest.raises(CameraError) as info:
        client.get_images(['nope'])
    assert 'nope' in info.value.error
    assert info.value.service == '/%s/camera/get_images' % NS
    assert 'nope' in str(info.value)


# --------------------------------------------------------------------------- other calls

def test_get_point_cloud_is_pcd_in_metres(client):
    data, mime = client.get_point_cloud()
    assert mime == vf.MIME_PCD
    xyz, rgb = pcd.decode_pcd(data)
    assert len(xyz) > W * H // 2 and rgb is not None and rgb.shape == xyz.shape
    assert np.all(xyz[:, 2] > 0) and xyz[:, 2].max() == pytest.approx(3.0, abs=1e-3)
    assert np.count_nonzero(np.abs(xyz[:, 2] - 3.0) < 1e-3) > 100    # the wall
    _, _, meta = client.get_point_cloud_with_metadata()
    assert meta.captured_at.tzinfo is not None


def test_get_properties_match_the_synthetic_camera(client):
    props = client.get_properties()
    assert isinstance(props, Properties)
    ip = props.intrinsic_parameters
    fx, fy, cx, cy = synthetic_intrinsics(W, H)
    assert (ip.width_px, ip.height_px) == (W, H)
    assert ip.focal_x_px == pytest.approx(fx) and ip.focal_y_px == pytest.approx(fy)
    assert ip.center_x_px == pytest.approx(cx) and ip.center_y_px == pytest.approx(cy)
    assert props.supports_pcd is True
    assert {vf.MIME_JPEG, vf.MIME_PNG, vf.MIME_VIAM_DEP} <= set(props.mime_types)
    assert props.frame_rate is None or props.frame_rate > 0
    assert props.extrinsics is not None
    assert props.extrinsics.translation_m == pytest.approx((-0.015, 0.0, 0.0))
    assert props.extrinsics.translation_mm == pytest.approx((-15.0, 0.0, 0.0))
    assert props.extrinsics.rotation_xyzw == pytest.approx((0.0, 0.0, 0.0, 1.0))
    assert props.extrinsics.axis_angle[3] == pytest.approx(0.0)
    assert props.default_reference_frame == 'camera_color_optical_frame'
    assert props.intrinsics_are_default is False
    assert all(v == 0.0 for v in props.distortion_parameters.parameters)


def test_do_command_round_trips_json(client):
    status = client.do_command({'command': 'status'})
    assert status['driver'] == 'synthetic' and status['state'] == 'streaming'
    assert 'status' in client.do_command({'command': 'help'})['commands']
    with pytest.raises(CameraError, match='unknown command'):
        client.do_command({'command': 'make_coffee'})
    with pytest.raises(TypeError):
        client.do_command('status')


def test_get_geometries(client):
    geoms = {g.label: g for g in client.get_geometries()}
    assert set(geoms) == {'housing', 'ball', 'cable'}
    box, ball, cable = geoms['housing'], geoms['ball'], geoms['cable']
    assert box.shape == 'box' and box.dims_mm == pytest.approx((90, 25, 25))
    assert (box.center.x, box.center.y, box.center.z) == pytest.approx((10, 20, 30))
    assert box.position_m == pytest.approx((0.01, 0.02, 0.03))
    assert box.orientation_xyzw == pytest.approx((0, 0, 0, 1))
    assert box.frame_id == 'camera_color_optical_frame'
    assert box.radius_mm is None and box.length_mm is None
    assert ball.shape == 'sphere' and ball.radius_mm == pytest.approx(5)
    assert ball.dims_mm is None
    # the RDK's own check value: OV (0, -0.7071, 0.7071, 90 deg) is 45 deg about +x
    q = np.array(ball.orientation_xyzw)
    want = np.array([math.sin(math.radians(22.5)), 0.0, 0.0, math.cos(math.radians(22.5))])
    assert min(np.abs(q - want).max(), np.abs(q + want).max()) < 1e-3, q
    assert ball.center.theta == pytest.approx(90.0)
    assert cable.shape == 'capsule'
    assert (cable.radius_mm, cable.length_mm) == pytest.approx((10, 40))


# --------------------------------------------------------------------------- asyncio

def test_async_twins_inside_asyncio_run(client):
    async def main():
        return await asyncio.gather(
            client.get_image_async('image/vnd.viam.dep'),
            client.get_images_async(),
            client.get_point_cloud_async(),
            client.get_properties_async(),
            client.do_command_async({'command': 'status'}),
            client.get_geometries_async(),
        )

    image, (images, meta), (cloud_bytes, mime), props, status, geoms = asyncio.run(main())
    assert image.bytes_to_depth_array()[WALL_PIXEL] == 3000
    assert {i.source_name for i in images} == {'color', 'depth'}
    assert meta.captured_at.tzinfo is not None
    assert mime == vf.MIME_PCD
    assert pcd.decode_pcd(cloud_bytes)[0][:, 2].max() == pytest.approx(3.0)
    assert props.intrinsic_parameters.focal_x_px == pytest.approx(synthetic_intrinsics(W, H)[0])
    assert status['driver'] == 'synthetic'
    assert len(geoms) == 3


def test_async_errors(client, client_node):
    absent = CameraClient(client_node, name='camera', namespace=ABSENT_NS)

    async def main():
        with pytest.raises(CameraError, match='nope'):
            await client.get_images_async(['nope'])
        with pytest.raises(TimeoutError, match=ABSENT_NS):
            await absent.get_image_async(timeout=1.5)

    try:
        asyncio.run(main())
    finally:
        absent.destroy()


# --------------------------------------------------------------------------- absence, spinning

def test_timeout_error_names_the_service_when_the_camera_is_absent(client_node):
    absent = CameraClient(client_node, name='camera', namespace=ABSENT_NS)
    try:
        with pytest.raises(TimeoutError) as info:
            absent.get_properties(timeout=1.5)
        assert '/%s/camera/get_properties' % ABSENT_NS in str(info.value)
    finally:
        absent.destroy()


def test_destroyed_client_refuses_calls(rclpy_context, camera):
    node = Node('client_destroy_%d' % os.getpid())
    try:
        c = CameraClient(node, name='camera', namespace=NS)
        assert c.get_properties().supports_pcd
        c.destroy()
        c.destroy()
        assert node.executor is None
        with pytest.raises(CameraClientError, match='destroyed'):
            c.get_image()
        with CameraClient(node, name='camera', namespace=NS) as again:  # node reusable
            assert again.get_image().source_name == 'color'
    finally:
        node.destroy_node()


@contextlib.contextmanager
def _client_on_spun_executor(executor, node_name):
    """Yield ``(node, client)``: the node on ``executor``, spun in a thread until exit."""
    node = Node(node_name)
    executor.add_node(node)
    c = CameraClient(node, name='camera', namespace=NS)
    stop = threading.Event()

    def run():
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield node, c
    finally:
        stop.set()
        thread.join(5)
        c.destroy()
        executor.remove_node(node)
        executor.shutdown()
        node.destroy_node()


def _call_in_timer_callback(node, call, wait):
    """Run ``call()`` in a timer callback of ``node``; return ``{'result'|'error': ...}``."""
    outcome = {}

    def in_callback():
        timer.cancel()
        try:
            outcome['result'] = call()
        except Exception as exc:  # recorded for the caller's assertions
            outcome['error'] = exc

    timer = node.create_timer(0.01, in_callback)
    deadline = time.monotonic() + wait
    while not outcome and time.monotonic() < deadline:
        time.sleep(0.02)
    return outcome


def test_users_single_threaded_executor(rclpy_context, camera):
    with _client_on_spun_executor(SingleThreadedExecutor(),
                                  'client_ste_%d' % os.getpid()) as (node, c):
        assert not c.spins_itself
        assert c.get_image().source_name == 'color'          # from another thread: fine
        outcome = _call_in_timer_callback(node, lambda: c.get_image(timeout=2.0), 10)
        assert isinstance(outcome.get('error'), CameraClientError), outcome
        assert 'single-threaded executor' in str(outcome['error'])


def test_call_from_a_multithreaded_executor_callback_works(rclpy_context, camera):
    with _client_on_spun_executor(MultiThreadedExecutor(num_threads=2),
                                  'client_mte_%d' % os.getpid()) as (node, c):
        outcome = _call_in_timer_callback(
            node, lambda: c.get_image('image/vnd.viam.dep', timeout=10.0), 15)
        assert 'result' in outcome, outcome
        assert outcome['result'].bytes_to_depth_array()[WALL_PIXEL] == 3000


def test_blocking_call_from_the_clients_own_spin_thread_raises(rclpy_context, camera):
    node = Node('client_own_%d' % os.getpid())
    c = CameraClient(node, name='camera', namespace=NS)
    try:
        outcome = _call_in_timer_callback(node, lambda: c.get_properties(timeout=2.0), 10)
        assert isinstance(outcome.get('error'), CameraClientError), outcome
    finally:
        c.destroy()
        node.destroy_node()


# --------------------------------------------------------------------------- close

def test_close_releases_the_camera_and_later_calls_are_refused(rclpy_context, start_node):
    ns = NS + '_close'
    proc = start_node(namespace=ns, name='camera', params={'width': W, 'height': H})
    assert proc.wait_output('publishing', 30), proc.output()
    node = Node('client_close_%d' % os.getpid())
    c = CameraClient(node, name='camera', namespace=ns)
    try:
        assert c.get_image().source_name == 'color'
        c.close()
        with pytest.raises(CameraError, match='closed'):
            c.get_image()
        asyncio.run(c.close_async())                        # closing twice is fine
        assert proc.wait_output('Close requested', 5)
    finally:
        c.destroy()
        node.destroy_node()


# --------------------------------------------------------------------------- snapshot

def run_snapshot(args, timeout=60):
    return subprocess.run([sys.executable, '-m', 'camera_node.cli.snapshot'] + args,
                          capture_output=True, text=True, timeout=timeout)


def parse_lines(stdout):
    rows = []
    for line in stdout.strip().splitlines():
        path, size, mime, dims, when = line.split('\t')
        rows.append((path, int(size.split()[0]), mime, dims,
                     datetime.strptime(when, '%Y-%m-%dT%H:%M:%S.%fZ')))
    return rows


def test_snapshot_saves_colour_depth_and_cloud(camera, tmp_path):
    out = tmp_path / 'snap'
    r = run_snapshot(['--camera', 'camera', '--namespace', NS, '--out', str(out),
                      '--timeout', '10'])
    assert r.returncode == 0, r.stdout + r.stderr
    rows = parse_lines(r.stdout)
    names = {os.path.basename(p): (size, mime, dims) for p, size, mime, dims, _ in rows}
    assert set(names) == {'color.jpg', 'depth_raw16.png', 'depth_colorized.png', 'cloud.pcd'}
    for path, size, _, _, _ in rows:
        assert os.path.getsize(path) == size > 0
    assert names['color.jpg'][1:] == (vf.MIME_JPEG, '%dx%d' % (W, H))
    assert names['depth_raw16.png'][1:] == (vf.MIME_PNG, '%dx%d' % (W, H))
    assert names['cloud.pcd'][1] == vf.MIME_PCD and names['cloud.pcd'][2].endswith('points')
    image_times = {when for p, _, _, _, when in rows if not p.endswith('.pcd')}
    assert len(image_times) == 1                       # one frame set for colour and depth
    raw = cv2.imread(str(out / 'depth_raw16.png'), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw[WALL_PIXEL] == 3000 and raw[WINDOW_PIXEL] == 0
    colored = cv2.imread(str(out / 'depth_colorized.png'))
    assert colored.shape == (H, W, 3)
    assert colored[WINDOW_PIXEL].tolist() == [0, 0, 0] and colored[WALL_PIXEL].any()
    assert cv2.imread(str(out / 'color.jpg')).shape == (H, W, 3)
    xyz, _ = pcd.decode_pcd((out / 'cloud.pcd').read_bytes())
    assert xyz[:, 2].max() == pytest.approx(3.0, abs=1e-3)


def test_snapshot_fails_clearly_when_the_camera_is_absent(rclpy_context, tmp_path):
    out = tmp_path / 'none'
    r = run_snapshot(['--namespace', ABSENT_NS, '--out', str(out), '--timeout', '1.5'])
    assert r.returncode == 3, r.stdout + r.stderr
    assert '/%s/camera/get_images' % ABSENT_NS in r.stderr
    assert r.stdout == '' and not any(out.iterdir())


def test_snapshot_of_a_camera_without_depth_saves_colour_only(start_node, tmp_path):
    frames = tmp_path / 'frames'
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / ('img_%04d.png' % i)), np.full((H, W, 3), 40 * i, np.uint8))
    ns = NS + '_nodepth'
    proc = start_node(namespace=ns, name='camera',
                      params={'driver': 'file', 'source': str(frames / 'img_%04d.png'),
                              'loop': True})
    assert proc.wait_output('publishing', 30), proc.output()
    out = tmp_path / 'snap'
    r = run_snapshot(['--namespace', ns, '--out', str(out), '--timeout', '10',
                      '--color-mime', 'image/png'])
    assert r.returncode == 4, r.stdout + r.stderr
    assert 'no depth' in r.stderr
    rows = parse_lines(r.stdout)
    assert [os.path.basename(p) for p, *_ in rows] == ['color.png']
    assert rows[0][2:4] == (vf.MIME_PNG, '%dx%d' % (W, H))
    assert sorted(os.listdir(out)) == ['color.png']
