"""Finding a RealSense device or recording, and configuring and starting its pipeline."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple

import pyrealsense2 as rs

from ...core.errors import DeviceNotFoundError, InvalidOptionError

#: colour formats the driver turns into RGB
COLOR_FORMATS = (rs.format.rgb8, rs.format.bgr8, rs.format.rgba8, rs.format.bgra8,
                 rs.format.y8)


def device_info(device: 'rs.device') -> Dict[str, str]:
    """Return every camera_info field the device reports, by SDK name."""
    out = {}
    for key, info in rs.camera_info.__members__.items():
        try:
            if device.supports(info):
                out[key] = device.get_info(info)
        except RuntimeError:
            continue
    return out


def configure_playback(ctx: 'rs.context', cfg: 'rs.config', path: str, wanted_serial: str,
                       loop: bool, enable_depth: bool,
                       infra: Tuple[bool, bool] = (False, False)) -> None:
    """Configure cfg to play the recording at path: colour, depth and infrared.

    Depth when asked and recorded; the infrared imagers asked for. Motion streams are
    played apart (:mod:`.motion`).

    :raises DeviceNotFoundError: no such file, not a recording, another serial, or no
        colour stream in a format the driver reads.
    :raises InvalidOptionError: an infrared stream asked for is not in the recording.
    """
    if not os.path.isfile(path):
        raise DeviceNotFoundError('RealSense playback file %r does not exist' % path)
    cfg.enable_device_from_file(path, repeat_playback=loop)
    try:
        recorded = cfg.resolve(rs.pipeline_wrapper(rs.pipeline(ctx)))
    except RuntimeError as exc:
        raise DeviceNotFoundError('cannot play RealSense recording %r: %s'
                                  % (path, exc)) from exc
    device = recorded.get_device()
    serial = device_info(device).get('serial_number', '')
    if wanted_serial and wanted_serial != serial:
        raise DeviceNotFoundError('recording %r holds device serial %r, not serial_no '
                                  '%r' % (path, serial, wanted_serial))
    streams: Dict[Any, Any] = {}
    for sensor in device.query_sensors():
        for prof in sensor.get_stream_profiles():
            streams.setdefault(prof.stream_type(), prof)
            if prof.stream_type() == rs.stream.infrared:
                streams.setdefault(('infra', prof.stream_index()), prof)
    color = streams.get(rs.stream.color)
    if color is None or color.format() not in COLOR_FORMATS:
        raise DeviceNotFoundError(
            'recording %r has no colour stream in a format this driver reads (%s); '
            'streams: %s' % (path, ', '.join(f.name for f in COLOR_FORMATS),
                             ', '.join('%s %s' % (p.stream_type().name, p.format().name)
                                       for p in streams.values())))
    cfg.enable_stream(rs.stream.color, color.stream_index(), 0, 0, color.format(), 0)
    depth = streams.get(rs.stream.depth)
    if enable_depth and depth is not None:
        cfg.enable_stream(rs.stream.depth, depth.stream_index(), 0, 0, rs.format.z16, 0)
    for i, wanted in enumerate(infra):
        if not wanted:
            continue
        prof = streams.get(('infra', i + 1))
        if prof is None or prof.format() != rs.format.y8:
            raise InvalidOptionError('enable_infra%d: recording %r has no Y8 infrared %d '
                                     'stream' % (i + 1, path, i + 1))
        cfg.enable_stream(rs.stream.infrared, i + 1, 0, 0, rs.format.y8, 0)


def configure_device(ctx: 'rs.context', cfg: 'rs.config', wanted_serial: str,
                     color: Tuple[str, Tuple[int, int, int]],
                     depth: Optional[Tuple[str, Tuple[int, int, int]]],
                     infra: Tuple[bool, bool] = (False, False),
                     stereo: Optional[Tuple[str, Tuple[int, int, int]]] = None) -> None:
    """Configure cfg for a live device: rgb8 colour, z16 depth, Y8 infrared.

    Depth unless depth is None; the infrared imagers asked for at the ``stereo`` profile
    (the depth one: the stereo module streams them together).
    ``color``, ``depth`` and ``stereo`` are (profile text, (width, height, fps)). Devices
    are listed before anything starts: a pipeline start with no device blocks for ~15 s.

    :raises DeviceNotFoundError: no device, or none with the wanted serial (the message
        lists the serials seen).
    :raises InvalidOptionError: the device cannot stream those profiles (the message lists
        what it offers).
    """
    try:
        devices = list(ctx.query_devices())
    except RuntimeError as exc:
        raise DeviceNotFoundError('RealSense device enumeration failed: %s' % exc) from exc
    seen = [device_info(d).get('serial_number', '?') for d in devices]
    if not devices or (wanted_serial and wanted_serial not in seen):
        raise DeviceNotFoundError(
            'no RealSense device with serial %s found; serials seen: %s'
            % (repr(wanted_serial) if wanted_serial else '(any)', seen))
    serial = wanted_serial or seen[0]
    cfg.enable_device(serial)
    cw, ch, cf = color[1]
    cfg.enable_stream(rs.stream.color, cw, ch, rs.format.rgb8, cf)
    if depth is not None:
        dw, dh, df = depth[1]
        cfg.enable_stream(rs.stream.depth, dw, dh, rs.format.z16, df)
    for i, on in enumerate(infra):
        if on and stereo is not None:
            iw, ih, ifps = stereo[1]
            cfg.enable_stream(rs.stream.infrared, i + 1, iw, ih, rs.format.y8, ifps)
    if not cfg.can_resolve(rs.pipeline_wrapper(rs.pipeline(ctx))):
        wanted = 'colour %s rgb8' % color[0]
        if depth is not None:
            wanted += ' + depth %s z16' % depth[0]
        for i, on in enumerate(infra):
            if on and stereo is not None:
                wanted += ' + infrared %d %s y8' % (i + 1, stereo[0])
        raise InvalidOptionError('device %s cannot stream %s; it offers %s'
                                 % (serial, wanted, '; '.join(
                                     offered_profiles(devices[seen.index(serial)]))))


def offered_profiles(device: 'rs.device') -> List[str]:
    """Return the rgb8, z16 and y8 video profiles a device offers, as 'stream WxHxFPS'."""
    offers = set()
    for sensor in device.query_sensors():
        for prof in sensor.get_stream_profiles():
            wanted = prof.format() in (rs.format.rgb8, rs.format.z16, rs.format.y8)
            if wanted and prof.is_video_stream_profile():
                vp = prof.as_video_stream_profile()
                offers.add('%s %dx%dx%d' % (prof.stream_name(), vp.width(), vp.height(),
                                            vp.fps()))
    return sorted(offers)


def start_pipeline(ctx: 'rs.context', cfg: 'rs.config',
                   what: str) -> Tuple['rs.pipeline', 'rs.pipeline_profile']:
    """Start a pipeline on cfg; what names the device or file in the error.

    :raises DeviceNotFoundError: the pipeline did not start.
    """
    pipe = rs.pipeline(ctx)
    try:
        return pipe, pipe.start(cfg)
    except RuntimeError as exc:
        raise DeviceNotFoundError('RealSense pipeline did not start (%s): %s'
                                  % (what, exc)) from exc


def stop_pipeline(pipe: Optional['rs.pipeline']) -> None:
    """Stop a pipeline, ignoring the errors of one that already stopped."""
    if pipe is not None:
        try:
            pipe.stop()
        except RuntimeError:
            pass


def find_sensors(device: 'rs.device') -> Dict[str, 'rs.sensor']:
    """Return the device's depth and colour sensors as {'depth': ..., 'color': ...}."""
    sensors: Dict[str, rs.sensor] = {}
    for sensor in device.query_sensors():
        if sensor.is_depth_sensor():
            sensors.setdefault('depth', sensor)
        elif sensor.is_color_sensor():
            sensors.setdefault('color', sensor)
    for sensor in device.query_sensors():
        # D400 colour comes from 'RGB Camera' (a color_sensor); keep the first other
        # sensor as colour only when there is no dedicated one
        if 'color' not in sensors and not sensor.is_depth_sensor():
            sensors['color'] = sensor
    return sensors


def stream_profiles(profile: 'rs.pipeline_profile') -> Dict[str, Any]:
    """Return the started video stream profiles by name.

    ``color``, and ``depth``, ``infra1``, ``infra2`` when they stream.
    """
    out = {'color': profile.get_stream(rs.stream.color).as_video_stream_profile()}
    for key, stream, index in (('depth', rs.stream.depth, -1),
                               ('infra1', rs.stream.infrared, 1),
                               ('infra2', rs.stream.infrared, 2)):
        try:
            out[key] = profile.get_stream(stream, index).as_video_stream_profile()
        except RuntimeError:
            continue
    return out


def depth_scale(sensor: Optional['rs.sensor'], default: float) -> float:
    """Return metres per depth unit of a depth sensor, default if it does not say."""
    if sensor is not None:
        try:
            return float(sensor.as_depth_sensor().get_depth_scale())
        except RuntimeError:
            pass
    return default
