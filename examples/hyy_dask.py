"""The H→γγ selection on a dask cluster, from a script: the histogram of HyyAnalysis.ipynb.

    python hyy_dask.py [--did opendata:GamGam.Data] [--mode stream] [--workers 2] [--scheduler ADDRESS]

Without --scheduler it starts a LocalCluster; with one, it runs on that dask cluster.
Prints the m_γγ histogram as JSON.
"""

import argparse
import json
import logging

import hyy
import jupyterlab_odlake as odlake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--did", default="opendata:GamGam.Data")
    parser.add_argument("--mode", default="stream", choices=["stream", "download", "mounted", "auto"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", help="address of a running dask scheduler")
    args = parser.parse_args()

    from dask.distributed import Client, LocalCluster

    data = odlake.attach(args.did, mode=args.mode, progress=False)
    if args.scheduler:
        client, cluster = Client(args.scheduler), None
    else:
        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, dashboard_address=None, silence_logs=logging.CRITICAL
        )
        client = Client(cluster)
    try:
        lazy = data.dask("mini", filter_name=hyy.BRANCHES)
        mass = lazy.map_partitions(lambda partition: hyy.select(partition)[1]).compute()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    print(
        json.dumps(
            {"did": args.did, "mode": args.mode, "bins": hyy.BINS.tolist(), "counts": hyy.histogram(mass).tolist()}
        )
    )


if __name__ == "__main__":
    main()
