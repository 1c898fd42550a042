"""Test doubles of the storage side, for deployment tests (not for nova).

``fabric`` models what a SAN fabric tells a storage backend (the name
server's logins, the zones); ``cinder_fc`` is a Cinder FC volume driver and
FC zone manager plug-ins on top of it, so that a real Cinder can attach
volumes to instances of this driver without a storage array.
"""
