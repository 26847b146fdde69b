"""Webcams (V4L2) and live network streams through OpenCV: the ``webcam`` driver.

* :mod:`.params`: the parameters (no SDK import: launch files and tools read them),
* :mod:`.grabber`: the thread that reads a live capture and keeps only the newest frame,
* :mod:`.driver`: :class:`~.driver.WebcamDriver`.

Video files and image sequences are the ``file`` driver's (:mod:`..file`); what both share
is in :mod:`..opencv`. This package imports nothing from OpenCV itself.
"""
