"""The camera's runtime parameter change, step by step as the driver contract states it.

Driver tests use :func:`change` to change an option the way the camera does (no ROS):
the spec's type/range/choices/check first, then the driver's ``check_option`` (may the
device take it?), then ``set_option`` (apply it), then the store (after which the driver's
``options`` show the new value). A refusal at any step raises InvalidOptionError and
leaves the stored value as it was.
"""

from camera_node.core.errors import InvalidOptionError
from camera_node.core.params import ParameterStore


def make_store(driver_cls, options=None):
    """Return the camera's ParameterStore for a driver class, built from options."""
    return ParameterStore(driver_cls.parameters, options or {})


def change(driver, store, name, value):
    """Change one parameter through every step of the contract; return the stored value."""
    value, reason = store.check(name, value)
    if reason:
        raise InvalidOptionError(reason)
    driver.check_option(name, value)
    driver.set_option(name, value)
    store.commit(name, value)
    return value
