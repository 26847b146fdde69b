"""The camera core: types, parameters, capture and the camera session. No ROS import.

Everything above (``viam``, ``ros``) and the drivers depend on this layer; it depends on
nothing of the package but itself.
"""
