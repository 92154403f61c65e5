"""Create the Rucio schema, the base VO and the root account with its userpass identity.

Run as ``python -m jupyterlab_odlake.lake.bootstrap`` with ``RUCIO_CONFIG`` set: Rucio
reads its configuration once per process.
"""

import sys


def main() -> int:
    from rucio.db.sqla.util import build_database, create_base_vo, create_root_account

    build_database()
    create_base_vo()
    create_root_account()
    return 0


if __name__ == "__main__":
    sys.exit(main())
