"""Save one snapshot of a camera node: colour, depth (raw and colourised) and point cloud.

Usage::

    python -m camera_node.snapshot --camera camera --namespace camera --out DIR --timeout 10
    ros2 run camera_node snapshot --out DIR

One GetImages call gives colour and depth of the same frame set; one GetPointCloud call
gives the cloud (the node's newest frame set at that moment, so its capture time may be a
frame later). Files written into ``--out`` (``SRC`` is the image's source name):

* ``SRC.jpg`` or ``SRC.png``: the colour image as sent (Viam RGBA is re-encoded as PNG),
* ``SRC_raw16.png``: depth in millimetres as a 16-bit greyscale PNG,
* ``SRC_colorized.png``: depth colourised (turbo colour map over the valid range, near is
  red, no depth is black),
* ``cloud.pcd``: the binary PCD (metres).

One line per file goes to stdout, tab-separated: path, size in bytes, MIME type, image size
(``WxH``, or ``N points``) and capture time (ISO 8601, UTC).

Exit status: 0 all saved; 1 the camera answered with an error; 3 the camera did not
answer within ``--timeout`` (absent); 4 the camera has no depth (the colour image is
saved, nothing else).
"""

from __future__ import annotations

import argparse
from datetime import datetime
import os
import re
import sys
import time
from typing import List, Optional, Tuple

import cv2
import numpy as np

from ..viam import codecs, pcd

EXIT_OK = 0
EXIT_CAMERA_ERROR = 1
EXIT_ABSENT = 3
EXIT_NO_DEPTH = 4
#: start of the node's error text while it has not captured a frame set yet
NO_FRAME_YET = 'no frame captured yet'


def iso_utc(when: datetime) -> str:
    """Return ``when`` as ISO 8601 UTC with microseconds and a ``Z`` suffix."""
    return when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def colorize_depth(depth_mm: np.ndarray) -> np.ndarray:
    """Return a BGR uint8 image of a depth map: turbo over its valid range, 0 is black.

    The range is the 1st to 99th percentile of the non-zero depths; near is red, far blue.
    """
    depth = np.asarray(depth_mm)
    out = np.zeros(depth.shape + (3,), dtype=np.uint8)
    valid = depth > 0
    if not valid.any():
        return out
    values = depth[valid].astype(np.float32)
    lo, hi = np.percentile(values, [1.0, 99.0])
    span = max(float(hi - lo), 1.0)
    scaled = np.clip((depth.astype(np.float32) - lo) / span, 0.0, 1.0)
    index = (255.0 - scaled * 255.0).astype(np.uint8)  # near -> 255 -> red in turbo
    colored = cv2.applyColorMap(index, cv2.COLORMAP_TURBO)
    out[valid] = colored[valid]
    return out


def _safe(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('.') or 'image'


def _is_depth(array: np.ndarray) -> bool:
    return array.ndim == 2 and array.dtype == np.uint16


def _line(path: str, mime: str, size: str, when: datetime) -> str:
    return '\t'.join((path, '%d bytes' % os.path.getsize(path), mime, size, iso_utc(when)))


def _write(path: str, data: bytes) -> None:
    with open(path, 'wb') as f:
        f.write(data)


def _encode_bgr_png(image: np.ndarray) -> bytes:
    """Encode a BGR image (what OpenCV's colour maps give) as PNG."""
    ok, buf = cv2.imencode('.png', image)
    if not ok:
        raise RuntimeError('OpenCV could not encode the PNG')
    return buf.tobytes()


def save_images(images, captured_at: datetime, out_dir: str) -> Tuple[List[str], bool]:
    """Save colour and depth images; return ``(printed lines, whether depth was saved)``.

    Bytes whose MIME type is a file format of its own (the registry's ``extension``) are
    written as sent; others (Viam RGBA, Viam depth) are written as PNG.
    """
    lines = []
    has_depth = False
    for img in images:
        array = img.to_numpy()
        size = '%dx%d' % (array.shape[1], array.shape[0])
        base = os.path.join(out_dir, _safe(img.source_name))
        mime = codecs.normalize_mime(img.mime_type)
        if _is_depth(array):
            has_depth = True
            raw = base + '_raw16.png'
            # a 16-bit greyscale PNG in millimetres is written as sent
            _write(raw, img.data if mime == codecs.MIME_PNG else codecs.encode_png(array))
            lines.append(_line(raw, codecs.MIME_PNG, size, captured_at))
            colored = base + '_colorized.png'
            _write(colored, _encode_bgr_png(colorize_depth(array)))
            lines.append(_line(colored, codecs.MIME_PNG, size, captured_at))
        else:
            extension = codecs.codec(mime).extension
            if extension:
                path = base + extension
                _write(path, img.data)
            else:
                path, mime = base + '.png', codecs.MIME_PNG
                _write(path, codecs.encode_png(array))
            lines.append(_line(path, mime, size, captured_at))
    return lines, has_depth


def _first_images(client, extra, timeout: float):
    """Call GetImages; while the node has no frame yet (just started), ask again until timeout."""
    from ..client import CameraError
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.get_images(extra=extra,
                                     timeout=max(0.0, deadline - time.monotonic()))
        except CameraError as exc:
            if NO_FRAME_YET not in exc.error or time.monotonic() + 0.1 >= deadline:
                raise
        time.sleep(0.1)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    """Parse the command line (ROS arguments already removed)."""
    p = argparse.ArgumentParser(
        prog='snapshot', description='Save colour, depth and point cloud of one camera node '
        'frame set (through its Viam services).')
    p.add_argument('--camera', default='camera', help='camera node name (default: camera)')
    p.add_argument('--namespace', default='camera',
                   help="camera node namespace (default: camera; '' for the root)")
    p.add_argument('--out', default='.', help='output folder, created if needed (default: .)')
    p.add_argument('--timeout', type=float, default=10.0,
                   help='seconds to wait for each answer (default: 10)')
    p.add_argument('--color-mime', default='',
                   help='wanted colour type: image/jpeg (default), image/png or '
                   'image/vnd.viam.rgba (saved as PNG)')
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """Take the snapshot with an initialised rclpy; return the exit status."""
    from rclpy.node import Node

    from ..client import CameraClient, CameraError

    os.makedirs(args.out, exist_ok=True)
    node = Node('camera_snapshot_%d' % os.getpid())
    client = CameraClient(node, name=args.camera, namespace=args.namespace)
    try:
        extra = {'mime_type': args.color_mime} if args.color_mime else None
        try:
            images, meta = _first_images(client, extra, args.timeout)
        except TimeoutError as exc:
            print('snapshot: error: no camera answered: %s' % exc, file=sys.stderr)
            return EXIT_ABSENT
        except CameraError as exc:
            print('snapshot: error: %s' % exc, file=sys.stderr)
            return EXIT_CAMERA_ERROR
        if not images:
            print('snapshot: error: %s returned no images' % client.service_name('get_images'),
                  file=sys.stderr)
            return EXIT_CAMERA_ERROR
        lines, has_depth = save_images(images, meta.captured_at, args.out)
        for line in lines:
            print(line, flush=True)
        if not has_depth:
            print('snapshot: camera %s has no depth: saved the colour image only, no depth '
                  'images and no point cloud' % client.prefix, file=sys.stderr)
            return EXIT_NO_DEPTH
        try:
            data, mime, cloud_meta = client.get_point_cloud_with_metadata(
                timeout=args.timeout)
        except TimeoutError as exc:
            print('snapshot: error: no point cloud: %s' % exc, file=sys.stderr)
            return EXIT_ABSENT
        except CameraError as exc:
            print('snapshot: error: no point cloud: %s' % exc, file=sys.stderr)
            return EXIT_CAMERA_ERROR
        path = os.path.join(args.out, 'cloud.pcd')
        _write(path, data)
        try:
            points = '%d points' % len(pcd.decode_pcd(data)[0])
        except codecs.FormatError as exc:
            points = 'unreadable PCD (%s)' % exc
        print(_line(path, mime, points, cloud_meta.captured_at), flush=True)
        return EXIT_OK
    finally:
        client.destroy()
        node.destroy_node()


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``python -m camera_node.snapshot`` and ``ros2 run camera_node snapshot``."""
    import rclpy
    from rclpy.utilities import remove_ros_args
    full = list(sys.argv if argv is None else [sys.argv[0]] + list(argv))
    args = parse_args(remove_ros_args(full)[1:])
    rclpy.init(args=full)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    finally:
        rclpy.try_shutdown()


if __name__ == '__main__':
    sys.exit(main())
