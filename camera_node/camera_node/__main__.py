"""``python -m camera_node``: one camera (as ``ros2 run camera_node camera_node``)."""

import sys

from camera_node.cli.main import main

sys.exit(main())
