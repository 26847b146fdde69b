from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'camera_node'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + PACKAGE]),
        ('share/' + PACKAGE, ['package.xml']),
        ('share/' + PACKAGE + '/launch', glob('launch/*.py')),
        ('share/' + PACKAGE + '/config', glob('config/*')),
    ],
    package_data={PACKAGE: ['py.typed']},
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='camera_node maintainers',
    maintainer_email='maintainers@camera-node.dev',
    description='ROS 2 camera driver node with the Viam camera API as services.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'camera_node = camera_node.cli.main:main',
            'snapshot = camera_node.cli.snapshot:main',
            'cameras = camera_node.cli.multi:main',
        ],
    },
)
