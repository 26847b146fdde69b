"""The synthetic camera: a ray-cast scene that needs no hardware (the default driver).

* :mod:`.params`: the parameters,
* :mod:`.scene`: the scene and its renderers (the static fast path, posed rendering,
  infrared with the projector's dots),
* :mod:`.trajectory`: the optional smooth path and the exact IMU readings along it,
* :mod:`.driver`: :class:`~.driver.SyntheticDriver`, tying them together.
"""
