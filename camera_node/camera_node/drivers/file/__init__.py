"""Video files and image sequences played as a camera through OpenCV: the ``file`` driver.

Optionally with a 16-bit PNG depth sequence matching the colour frames (RGB-D dataset
replay).

* :mod:`.params`: the parameters (no SDK import: launch files and tools read them),
* :mod:`.playback`: reading frames in order, looping, seeking, pacing and stamping,
* :mod:`.driver`: :class:`~.driver.FileDriver`.

Cameras and network streams are the ``webcam`` driver's (:mod:`..webcam`); what both
share is in :mod:`..opencv`. This package imports nothing from OpenCV itself.
"""
