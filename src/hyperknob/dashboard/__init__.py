"""A live, read-only web view of the studies in a storage (``hyperknob dashboard``)."""

from hyperknob.dashboard._server import Dashboard, is_loopback, make_server, required_token, serve

__all__ = ["Dashboard", "is_loopback", "make_server", "required_token", "serve"]
