"""Test support shipped with the plugin: the driver on the simulator.

The demo, the benchmarks, the fault matrix and the test suite share it, so
it lives in the package rather than under ``tests/`` (which nothing outside
the suite may import) or ``cmd/`` (which holds only commands).  Nothing on
the driver's path imports it: nova-compute never loads test support.

In-process runs: ``harness`` loads drivers as nova-compute does and keeps
instances in memory; ``fake_cinder`` is Cinder's FC connection_info.

Deployment tests: ``fabric`` models what a SAN fabric tells a storage
backend (the name server's logins, the zones); ``cinder_fc`` is a Cinder FC
volume driver and FC zone manager plug-ins on top of it, so that a real
Cinder can attach volumes to instances of this driver without a storage
array; ``cinder_noauth`` gives service tokens their role without keystone.
"""
