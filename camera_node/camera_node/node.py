"""Placeholder, replaced below."""


def main(args=None):
    """Run the node."""
    import rclpy
    rclpy.init(args=args)
    print('ok')
