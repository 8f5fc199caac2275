from setuptools import find_packages, setup

with open("requirements.txt") as requirements:
    install_requires = [line.strip() for line in requirements if line.strip()]

with open("README.md") as readme:
    long_description = readme.read()

setup(
    name="pulp-kickstart-oci",
    version="0.1.0.dev0",
    description="Pulp plugin that mirrors netboot/kickstart trees published as OCI artifacts",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="GPL-2.0-or-later",
    python_requires=">=3.11",
    install_requires=install_requires,
    include_package_data=True,
    # The plugin only: tests/, bench/ and dev/ are the checkout's (the pytest plugin's
    # upstream servers ship as pulp_kickstart_oci.testing).
    packages=find_packages(include=["pulp_kickstart_oci", "pulp_kickstart_oci.*"]),
    classifiers=[
        "Framework :: Django",
        "Programming Language :: Python :: 3.11",
    ],
    entry_points={
        "pulpcore.plugin": ["pulp_kickstart_oci = pulp_kickstart_oci:default_app_config"],
        # Pulp's test harness (fixtures built on pulpcore's pytest plugin), as pulp_rpm does.
        "pytest11": ["pulp_kickstart_oci = pulp_kickstart_oci.pytest_plugin"],
    },
)
