"""Bags written by an independent writer (rosbags) the way realsense-ros records a camera.

Topics under ``/camera/camera`` (realsense-ros names), colour ``rgb8`` (or another
encoding), depth ``16UC1`` stamped a few milliseconds after colour (another sensor), aligned
depth stamped as depth, CameraInfo beside each, ``/tf_static`` with realsense-ros frame
names, and topics the camera driver does not play (a custom extrinsics type, IMU) to show
they are skipped. Pixels encode the frame index, so a test knows what each frame holds.
"""

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import get_typestore, get_types_from_msg, Stores

W, H = 64, 48
FPS = 30.0
START_NS = 1_700_000_000_000_000_000
DEPTH_LAG_NS = 3_000_000
#: the depth imager 15 mm to the right of colour's left... as a D435: colour is +x of depth
COLOR_IN_LINK = (0.0, -0.015, 0.0)
K_COLOR = (60.0, 0, 31.5, 0, 61.0, 23.5, 0, 0, 1)
K_DEPTH = (58.0, 0, 32.0, 0, 58.0, 24.0, 0, 0, 1)
EXTRINSICS_MSG = """float64[9] rotation
float64[3] translation
"""


def color_of(i):
    """Return frame i's RGB image."""
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 0] = i % 256
    img[..., 1] = np.arange(W, dtype=np.uint8)[None, :]
    img[..., 2] = 200
    return img


def depth_of(i):
    """Return frame i's depth image in millimetres."""
    return (1000 + 10 * i + np.arange(W, dtype=np.uint16)[None, :]
            + np.zeros((H, 1), np.uint16)).astype(np.uint16)


def _stamp(ts, header, ns):
    header.stamp = ts.types['builtin_interfaces/msg/Time'](sec=ns // 10**9,
                                                           nanosec=ns % 10**9)
    return header


def write_bag(path, frames=30, prefix='/camera/camera', depth=True, aligned=True,
              color_encoding='rgb8', depth_encoding='16UC1', infos=True, tf=True,
              extra_cameras=()):
    """Write a bag; return the colour stamps (ns) in order."""
    ts = get_typestore(Stores.ROS2_HUMBLE)
    ts.register(get_types_from_msg(EXTRINSICS_MSG, 'realsense2_camera_msgs/msg/Extrinsics'))
    T = ts.types
    Header = T['std_msgs/msg/Header']
    period = int(1e9 / FPS)
    stamps = []
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as bag:
        conns = {}

        def conn(topic, msgtype):
            if topic not in conns:
                conns[topic] = bag.add_connection(topic, msgtype, typestore=ts)
            return conns[topic]

        def put(topic, msgtype, msg, log_ns):
            bag.write(conn(topic, msgtype), log_ns,
                      ts.serialize_cdr(msg, msgtype))

        def image(ns, frame, array, encoding):
            h, w = array.shape[:2]
            data = np.ascontiguousarray(array)
            if encoding == 'bgr8':
                data = np.ascontiguousarray(array[:, :, ::-1])
            elif encoding == '32FC1':
                data = (array.astype(np.float32) / 1000.0)
            step = data.strides[0]
            return T['sensor_msgs/msg/Image'](
                header=_stamp(ts, Header(stamp=None, frame_id=frame), ns), height=h, width=w,
                encoding=encoding, is_bigendian=0, step=step,
                data=np.frombuffer(data.tobytes(), np.uint8))

        def info(ns, frame, k):
            return T['sensor_msgs/msg/CameraInfo'](
                header=_stamp(ts, Header(stamp=None, frame_id=frame), ns), height=H, width=W,
                distortion_model='plumb_bob', d=np.zeros(5), k=np.array(k, float),
                r=np.eye(3).ravel(), p=np.array(k[:3] + (0,) + k[3:6] + (0,) + k[6:] + (0,),
                                                float),
                binning_x=0, binning_y=0,
                roi=T['sensor_msgs/msg/RegionOfInterest'](
                    x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))
        if tf:
            tfs = []
            for parent, child, xyz, q in (
                    ('camera_link', 'camera_depth_frame', (0, 0, 0), (0, 0, 0, 1)),
                    ('camera_depth_frame', 'camera_depth_optical_frame', (0, 0, 0),
                     (-0.5, 0.5, -0.5, 0.5)),
                    ('camera_link', 'camera_color_frame', COLOR_IN_LINK, (0, 0, 0, 1)),
                    ('camera_color_frame', 'camera_color_optical_frame', (0, 0, 0),
                     (-0.5, 0.5, -0.5, 0.5))):
                tfs.append(T['geometry_msgs/msg/TransformStamped'](
                    header=_stamp(ts, Header(stamp=None, frame_id=parent), START_NS),
                    child_frame_id=child, transform=T['geometry_msgs/msg/Transform'](
                        translation=T['geometry_msgs/msg/Vector3'](
                            x=xyz[0], y=xyz[1], z=xyz[2]),
                        rotation=T['geometry_msgs/msg/Quaternion'](x=q[0], y=q[1], z=q[2],
                                                                   w=q[3]))))
            put('/tf_static', 'tf2_msgs/msg/TFMessage', T['tf2_msgs/msg/TFMessage'](
                transforms=tfs), START_NS)
        put(prefix + '/extrinsics/depth_to_color', 'realsense2_camera_msgs/msg/Extrinsics',
            T['realsense2_camera_msgs/msg/Extrinsics'](rotation=np.eye(3).ravel(),
                                                       translation=np.zeros(3)), START_NS)
        for i in range(frames):
            c_ns = START_NS + 1000 + i * period
            d_ns = c_ns + DEPTH_LAG_NS
            stamps.append(c_ns)
            for p in (prefix,) + tuple(extra_cameras):
                put(p + '/color/image_raw', 'sensor_msgs/msg/Image',
                    image(c_ns, 'camera_color_optical_frame', color_of(i), color_encoding),
                    c_ns + 500_000)
                if infos:
                    put(p + '/color/camera_info', 'sensor_msgs/msg/CameraInfo',
                        info(c_ns, 'camera_color_optical_frame', K_COLOR), c_ns + 600_000)
            if depth:
                put(prefix + '/depth/image_rect_raw', 'sensor_msgs/msg/Image',
                    image(d_ns, 'camera_depth_optical_frame', depth_of(i), depth_encoding),
                    d_ns + 500_000)
                if infos:
                    put(prefix + '/depth/camera_info', 'sensor_msgs/msg/CameraInfo',
                        info(d_ns, 'camera_depth_optical_frame', K_DEPTH), d_ns + 600_000)
            if aligned:
                put(prefix + '/aligned_depth_to_color/image_raw', 'sensor_msgs/msg/Image',
                    image(d_ns, 'camera_color_optical_frame', depth_of(i), '16UC1'),
                    d_ns + 900_000)
                if infos:
                    put(prefix + '/aligned_depth_to_color/camera_info',
                        'sensor_msgs/msg/CameraInfo',
                        info(d_ns, 'camera_color_optical_frame', K_COLOR), d_ns + 950_000)
    return stamps
