"""Operations over real DDS: lifecycle transitions, diagnostics, calibration round trip."""

import json
import os
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
import pytest
from sensor_msgs.msg import CameraInfo, Image
from sensor_msgs.srv import SetCameraInfo

from camera_node.core import calibration as cal
from camera_node.ros.messages import calibration_of
from camera_node_interfaces.srv import DoCommand, GetImage, GetProperties

from conftest import NodeProcess

W, H = 96, 72


def transition(probe, proc, tid):
    res = probe.call(ChangeState, proc.topic('change_state'),
                     ChangeState.Request(transition=Transition(id=tid)))
    assert res is not None, 'change_state did not answer'
    return res.success


def state(probe, proc):
    return probe.call(GetState, proc.topic('get_state'), GetState.Request()).current_state.label


def test_lifecycle_transitions(start_node, probe):
    p = start_node(namespace='lc', params={'width': W, 'height': H, 'lifecycle': True})
    assert state(probe, p) == 'unconfigured'
    # nothing is published and services refuse before activation
    assert not probe.collect(Image, p.topic('color/image_raw'), timeout=1.0)
    res = probe.call(GetImage, p.topic('get_image'), GetImage.Request(mime_type='image/png'))
    assert not res.success and 'not active' in res.error
    assert transition(probe, p, Transition.TRANSITION_CONFIGURE)
    assert state(probe, p) == 'inactive'
    assert 'publishing' in p.output()                   # configure opened the device
    assert transition(probe, p, Transition.TRANSITION_ACTIVATE)
    assert state(probe, p) == 'active'
    assert probe.collect(Image, p.topic('color/image_raw'), timeout=10)
    assert transition(probe, p, Transition.TRANSITION_DEACTIVATE)
    assert state(probe, p) == 'inactive'
    time.sleep(0.3)
    assert not probe.collect(Image, p.topic('color/image_raw'), timeout=1.0)
    assert transition(probe, p, Transition.TRANSITION_CLEANUP)
    assert state(probe, p) == 'unconfigured'
    assert transition(probe, p, Transition.TRANSITION_CONFIGURE)
    assert transition(probe, p, Transition.TRANSITION_ACTIVATE)
    assert probe.collect(Image, p.topic('color/image_raw'), timeout=10)
    assert p.stop() == 0, p.output()


def test_lifecycle_configure_fails_for_a_missing_device(start_node, probe):
    p = start_node(namespace='lcbad', params={'driver': 'webcam', 'source': '/dev/video97',
                                              'lifecycle': True})
    assert not transition(probe, p, Transition.TRANSITION_CONFIGURE)
    assert state(probe, p) == 'unconfigured'
    assert '/dev/video97' in p.output()
    assert p.stop() == 0, p.output()


def test_plain_node_keeps_retrying_a_missing_device(start_node, probe):
    p = start_node(namespace='retry', params={'driver': 'webcam', 'source': '/dev/video98',
                                              'reconnect_max_backoff': 0.5})
    assert p.wait_output('/dev/video98', 20), p.output()
    res = probe.call(DoCommand, p.topic('do_command'),
                     DoCommand.Request(command='{"command": "status"}'))
    status = json.loads(res.result)
    assert status['state'] in ('searching', 'error') and '/dev/video98' in status['last_error']
    img = probe.call(GetImage, p.topic('get_image'), GetImage.Request())
    assert not img.success and '/dev/video98' in img.error
    assert p.stop() == 0, p.output()


def test_diagnostics_report_rates_against_the_expected_rate(start_node, probe):
    start_node(namespace='diag', params={'width': W, 'height': H, 'fps': 20.0,
                                         'diagnostics_period': 0.5})
    mine = []

    def keep(msg):
        mine.extend(s for s in msg.status if s.name.startswith('/diag/camera: device'))

    sub = probe.node.create_subscription(DiagnosticArray, '/diagnostics', keep, 10)
    try:
        probe.spin_until(lambda: any(s.level == DiagnosticStatus.OK for s in mine), 20)
    finally:
        probe.node.destroy_subscription(sub)
    ok = [s for s in mine if s.level == DiagnosticStatus.OK]
    assert ok, [(s.level, s.message) for s in mine]
    values = {kv.key: kv.value for kv in ok[-1].values}
    assert float(values['expected_rate_hz']) == 20.0
    assert 10.0 < float(values['measured_rate_hz']) < 30.0
    for key in ('dropped_frame_sets', 'reconnects', 'read_timeouts', 'state'):
        assert key in values
    assert values['state'] == 'streaming'


def test_diagnostic_levels():
    from camera_node.ros.diagnostics import device_level, ERROR, OK, WARN
    assert device_level('streaming', 29.5, 30.0)[0] == OK
    assert device_level('streaming', 10.0, 30.0)[0] == WARN
    assert device_level('searching', 0.0, 30.0)[0] == ERROR
    assert device_level('reconnecting', 0.0, 30.0)[0] == ERROR
    assert device_level('closed', 0.0, 30.0)[0] == WARN


def calibration_request(fx):
    info = CameraInfo(width=W, height=H, distortion_model='plumb_bob')
    info.k = [fx, 0.0, 47.0, 0.0, fx + 1, 35.0, 0.0, 0.0, 1.0]
    info.d = [0.1, -0.05, 0.001, 0.002, 0.01]
    info.r = [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]
    info.p = [fx, 0.0, 47.0, 0.0, 0.0, fx + 1, 35.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    return SetCameraInfo.Request(camera_info=info)


def test_calibration_round_trip_through_set_camera_info_and_restart(tmp_path, probe):
    path = tmp_path / 'calib.yaml'
    params = {'width': W, 'height': H, 'camera_info_url': 'file://%s' % path}
    p = NodeProcess(namespace='calib', params=params)
    try:
        assert p.wait_output('publishing', 30), p.output()
        assert 'not used' in p.output()                  # the file does not exist yet
        bad = calibration_request(80.0)
        bad.camera_info.width = 50
        res = probe.call(SetCameraInfo, p.topic('set_camera_info'), bad)
        assert not res.success and '50x72' in res.status_message
        res = probe.call(SetCameraInfo, p.topic('set_camera_info'), calibration_request(80.0))
        assert res.success, res.status_message
        assert path.exists()
        info = probe.collect(CameraInfo, p.topic('color/camera_info'), count=3)[-1]
        assert list(info.k)[:2] == [80.0, 0.0] and list(info.d)[0] == pytest.approx(0.1)
        props = probe.call(GetProperties, p.topic('get_properties'), GetProperties.Request())
        assert props.intrinsic_parameters.focal_x_px == 80.0
        assert props.distortion_parameters.model == 'brown_conrady'
        # Viam order [k1, k2, k3, p1, p2] from ROS [k1, k2, p1, p2, k3]
        assert list(props.distortion_parameters.parameters) == pytest.approx(
            [0.1, -0.05, 0.01, 0.001, 0.002])
    finally:
        assert p.stop() == 0, p.output()
    stored = cal.parse_calibration(path.read_text())
    assert stored.k[0] == 80.0 and (stored.width, stored.height) == (W, H)
    again = NodeProcess(namespace='calib2', params=params)
    try:
        assert again.wait_output('calibration loaded', 30), again.output()
        info = probe.collect(CameraInfo, again.topic('color/camera_info'))[0]
        assert info.k[0] == 80.0 and info.k[4] == 81.0
        aligned = probe.collect(CameraInfo, again.topic('aligned_depth_to_color/camera_info'))[0]
        assert aligned.k[0] == 80.0
        assert 'intrinsics from calibration_file' in again.output()
    finally:
        assert again.stop() == 0, again.output()


def test_calibration_yaml_round_trip_and_errors(tmp_path):
    info = calibration_of(calibration_request(100.0).camera_info)
    text = cal.calibration_yaml(info, 'cam')
    back = cal.parse_calibration(text)
    assert list(back.k) == list(info.k) and list(back.d) == list(info.d)
    assert list(back.p) == list(info.p) and back.distortion_model == 'plumb_bob'
    with pytest.raises(cal.CalibrationError, match='camera_matrix must hold 9'):
        cal.parse_calibration('image_width: 4\nimage_height: 3\n'
                              'camera_matrix: {rows: 3, cols: 3, data: [1, 2]}\n')
    with pytest.raises(cal.CalibrationError, match='image_width'):
        cal.parse_calibration('camera_matrix: {rows: 3, cols: 3, data: []}\n')
    with pytest.raises(cal.CalibrationError, match='unsupported'):
        cal.resolve_url('http://example.invalid/cal.yaml')
    assert cal.resolve_url('file:///tmp/x.yaml') == '/tmp/x.yaml'
    with pytest.raises(cal.CalibrationError, match='not installed'):
        cal.resolve_url('package://no_such_package_here/cal.yaml')


def test_calibration_rescales_same_aspect_and_refuses_others():
    info = calibration_of(calibration_request(100.0).camera_info)
    big = info.fitted(W * 2, H * 2)
    assert big.k[0] == 200.0 and big.k[2] == pytest.approx(94.5)
    with pytest.raises(cal.CalibrationError, match='calibration is for'):
        info.fitted(W, W)


def test_package_url_resolves_to_an_installed_share():
    path = cal.resolve_url('package://camera_node/config/synthetic.yaml')
    assert path.endswith(os.path.join('camera_node', 'config', 'synthetic.yaml'))
