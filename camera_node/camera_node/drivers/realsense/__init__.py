"""Intel RealSense driver through the librealsense Python SDK (``pyrealsense2``).

The same code path serves a live device (chosen by serial number) and a recording played
back from a ``.db3`` file (``playback_file``), which is how it is tested without hardware.

* :mod:`.params`: the parameters (no SDK import: launch files and tools read them),
* :mod:`.device`: finding the device or recording, configuring and starting the pipeline,
* :mod:`.convert`: SDK frames, intrinsics and timestamps to the core's types,
* :mod:`.options`: runtime options (exposure, laser power...) on the device's sensors,
* :mod:`.driver`: :class:`~.driver.RealSenseDriver`, tying them together.

This package imports nothing from the SDK itself; :mod:`.driver` does.
"""
