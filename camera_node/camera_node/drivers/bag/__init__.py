"""A rosbag2 recording of MCAP storage played as a camera: the ``bag`` driver.

Plays the clips ``save_clip`` writes and recordings made with realsense-ros topic names,
so every topic, service and the point cloud work on recorded data.

* :mod:`.params`: the parameters (no SDK import: launch files and tools read them),
* :mod:`.source`: the bag's files, topics and camera streams; reading and decoding,
* :mod:`.convert`: Image, CameraInfo and TF messages to the core's types,
* :mod:`.pairing`: grouping images into frame sets,
* :mod:`.driver`: :class:`~.driver.BagDriver` (pacing, loop, seek, the playback clock).
"""
