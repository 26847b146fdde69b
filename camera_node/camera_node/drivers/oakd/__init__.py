"""Luxonis OAK-D driver through the depthai v3 SDK.

The device runs a colour camera (socket CAM_A) and a stereo pair whose depth is aligned to
the colour camera on the device. The host reads two output queues, pairs colour and depth
frames (by timestamp or by sequence number), converts BGR to RGB and maps the frames'
host-synchronised steady-clock timestamps to the system clock.

* :mod:`.params`: the parameters (no SDK import: launch files and tools read them),
* :mod:`.graph`: everything that needs a device: search, the camera and stereo nodes, the
  queues, the calibration (:func:`~.graph.build_device_graph`, the one function tests
  replace with a host-only pipeline sending real ``ImgFrame`` messages),
* :mod:`.pairing`: colour/depth pairing (no SDK import),
* :mod:`.convert`: frames, intrinsics, timestamps and EEPROM facts to the core's types,
* :mod:`.options`: runtime camera controls and IR intensities,
* :mod:`.driver`: :class:`~.driver.OakDriver`, tying them together.

This package imports nothing from the SDK itself; :mod:`.driver` does.
"""
