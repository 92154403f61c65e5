"""Write the figures of results/*.json into the table of benchmarks/README.md (between its markers)."""

import json
import re
from pathlib import Path

HERE = Path(__file__).parent
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def load(name):
    path = HERE / "results" / name
    return json.loads(path.read_text()) if path.exists() else None


def rows():
    out = ["| benchmark | odlake | baseline (same run) | ratio | goal |", "|---|---|---|---|---|"]
    rest = load("rest.json")
    if rest:
        for name, r in rest["latency"].items():
            out.append(
                f"| REST {name} | {r['rest_ms']} ms | rucio-clients direct {r['direct_ms']} ms | {r['ratio']}× | ≤ 1.1× |"
            )
        big = rest["big_listing"]
        out.append(
            f"| 10,000-file dataset: first page (100 files, with availability) | {big['first_page_ms']} ms | "
            f"all 10,000 through REST: {big['full_list_rest_ms']} ms without availability, "
            f"{big['full_list_with_availability_rest_ms']} ms with; list_replicas of all (the older extension's way) "
            f"{big['list_replicas_all_ms']} ms | | first page at once |"
        )
        d = rest.get("download")
        if d:
            out.append(
                f"| download {d['dataset']} ({d['bytes'] / 1e6:.0f} MB, verified) through REST | {d['rest_s']} s ({d['rest_mb_s']} MB/s) | "
                f"`rucio download` CLI {d['rucio_cli_s']} s ({d['rucio_cli_mb_s']} MB/s) | {d['ratio_rest_vs_cli']}× faster | ≥ 1.0× |"
            )
            out.append(
                f"| one file after another: odlake's verified HTTP transfer | {d['odlake_transfer_sequential_s']} s | "
                f"Rucio's DownloadClient {d['download_client_s']} s | DownloadClient time / odlake time "
                f"{d['download_client_s'] / d['odlake_transfer_sequential_s']:.2f} | keep the faster |"
            )
    attach = load("attach.json")
    if attach:
        out.append(
            f"| attach a {attach['files']}-file dataset, stream mode (new kernel / warm) | {attach['attach_stream_cold_ms']} / {attach['attach_stream_warm_ms']} ms | "
            f"list_files + list_replicas direct {attach['direct_list_files_and_replicas_ms']} ms | | ≤ 1000 ms |"
        )
        out.append(
            f"| re-attach from the cache (download mode) | {attach['reattach_from_cache_ms']} ms | first attach, downloading {attach['first_attach_download_ms']} ms | | ≤ 200 ms |"
        )
    hyy = load("hyy.json")
    if hyy:
        out.append(
            f"| H→γγ selection over {hyy['megabytes']:.0f} MB, streamed over HTTP | {hyy['selection_stream_s']} s | local files {hyy['selection_local_s']} s | "
            f"{hyy['selection_ratio_stream_vs_local']}× | ≤ 1.3× |"
        )
        out.append(
            f"| time to the first plot, stream | {hyy['first_plot_stream_s']} s | download then read {hyy['first_plot_download_then_read_s']} s | "
            f"download-then-read time / stream time {hyy['first_plot_speedup_stream']} | ≥ 2× |"
        )
        out.append(
            f"| dask LocalCluster, 2 workers | {hyy['dask_2_workers_s']} s | 1 worker {hyy['dask_1_worker_s']} s | {hyy['dask_speedup_2_vs_1']}× faster | (2 cores) |"
        )
    return "\n".join(out)


def main():
    readme = HERE / "README.md"
    text = readme.read_text()
    table = f"{START}\n{rows()}\n{END}"
    readme.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: table, text, flags=re.S))
    print(rows())


if __name__ == "__main__":
    main()
