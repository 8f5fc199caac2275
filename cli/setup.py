from setuptools import setup

setup(
    name="pulp-cli-kickstart",
    version="0.1.0.dev0",
    description="pulp-cli commands for pulp_kickstart_oci: kickstart remotes, repositories, trees "
    "and distributions",
    license="GPL-2.0-or-later",
    python_requires=">=3.11",
    install_requires=["pulp-cli>=0.41,<0.42", "pulp-glue>=0.41,<0.42"],
    packages=["pulp_glue.kickstart", "pulpcore.cli.kickstart"],
    package_data={"pulp_glue.kickstart": ["py.typed"], "pulpcore.cli.kickstart": ["py.typed"]},
    entry_points={"pulp_cli.plugins": ["kickstart = pulpcore.cli.kickstart"]},
)
