"""The ROS adapters: the node, its topics, TF, parameters, services and diagnostics.

Everything here turns ROS input into calls on the layers below (``core``, ``viam``) and
their answers into ROS messages; no camera logic lives here.
"""
