"""Every message that crosses the bus, written once.

Services and the gateway import from here and from nowhere else of each other.
"""
