"""Logging of a benchmark process: errors only, so that the tables it
prints stay readable (the benchmark and its memory child both set it up)."""

from oslo_config import cfg
from oslo_log import log as logging

CONF = cfg.CONF


def setup():
    logging.register_options(CONF)
    CONF([], project='nova', default_config_files=[])
    CONF.set_default('default_log_levels', [
        'nova=ERROR', 'nova_npiv=ERROR', 'pypowervm=CRITICAL',
        'taskflow=ERROR', 'stevedore=ERROR', 'urllib3=ERROR'])
    logging.setup(CONF, 'nova-npiv-bench')
