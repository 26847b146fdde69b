"""``python -m camera_node``: one camera (as ``ros2 run camera_node camera_node``)."""

from camera_node.core import stop

stop.install()   # first: a signal during the imports below must not raise

import sys  # noqa: E402

from camera_node.cli.main import main  # noqa: E402

sys.exit(main())
