"""camera_node: one ROS 2 node for many cameras, with the Viam camera API as services."""
