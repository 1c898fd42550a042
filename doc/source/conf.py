"""Sphinx configuration of the nova-npiv documentation (``tox -e docs``).

Plain Sphinx with its bundled theme: the build needs nothing beyond the
package's own requirements and ``doc/requirements.txt``, and it runs with
warnings as errors, so a ``:ref:`` or ``:doc:`` to a section that does not
exist fails it.
"""

project = 'nova-npiv'
copyright = 'nova-npiv developers'

extensions = [
    # ``show-options`` renders the [powervm] options from nova_npiv.conf
    # through the package's oslo.config.opts entry point.
    'oslo_config.sphinxext',
]

master_doc = 'index'
exclude_patterns = []
html_theme = 'alabaster'
