"""What the OpenCV drivers share: the ``webcam`` driver (live) and the ``file`` driver.

* :mod:`.sources`: what a ``source`` string names, redaction, parameter checks (no SDK
  import: the parameter modules use it),
* :mod:`.common`: frame conversion, backends, the video devices of this machine, and
  :class:`~.common.OpenCvDriver`, the base both drivers build on (properties, notes,
  ``source_info``, option names).

This package imports nothing from OpenCV itself; :mod:`.common` does.
"""
