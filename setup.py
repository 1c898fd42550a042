import setuptools

setuptools.setup(
    setup_requires=['pbr>=5.8.0'],
    pbr=True,
    packages=setuptools.find_packages(include=['nova_npiv', 'nova_npiv.*'])
    + ['nova.virt.npiv'])
