"""Write the figures of results/*.json into the table of benchmarks/README.md (between its markers)."""

import json
import re
from pathlib import Path

HERE = Path(__file__).parent
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def result(name):
    path = HERE / "results" / name
    return json.loads(path.read_text()) if path.exists() else None


def rows():
    out = ["| benchmark | odlake | baseline (same run) | ratio | goal |", "|---|---|---|---|---|"]
    rest = result("rest.json")
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
    attach = result("attach.json")
    if attach:
        out.append(
            f"| attach a {attach['files']}-file dataset, stream mode (new kernel / warm) | {attach['attach_stream_cold_ms']} / {attach['attach_stream_warm_ms']} ms | "
            f"list_files + list_replicas direct {attach['direct_list_files_and_replicas_ms']} ms | | ≤ 1000 ms |"
        )
        out.append(
            f"| re-attach from the cache (download mode) | {attach['reattach_from_cache_ms']} ms | first attach, downloading {attach['first_attach_download_ms']} ms | | ≤ 200 ms |"
        )
    hyy = result("hyy.json")
    if hyy:
        out.append(
            f"| H→γγ selection over {hyy['megabytes']:.0f} MB, streamed over {'/'.join(hyy.get('stream_scheme', ['http']))}:// | {hyy['selection_stream_s']} s | local files {hyy['selection_local_s']} s | "
            f"{hyy['selection_ratio_stream_vs_local']}× | ≤ 1.3× |"
        )
        out.append(
            f"| time to the first plot, stream, on loopback | {hyy['first_plot_stream_s']} s | download then read {hyy['first_plot_download_then_read_s']} s | "
            f"download-then-read time / stream time {hyy['first_plot_speedup_stream']} | ≥ 2× over a real link (met at 1000, 200, 50 Mbit/s: below) |"
        )
        out.append(
            f"| dask LocalCluster, 2 workers | {hyy['dask_2_workers_s']} s | 1 worker {hyy['dask_1_worker_s']} s | {hyy['dask_speedup_2_vs_1']}× faster | (2 cores) |"
        )
    hub = result("hub.json")
    if hub:
        out.append(
            f"| JupyterHub: login to a ready panel (user's server spawned, instances and catalog answered) | "
            f"{hub['login_to_ready_panel_s']} s | login to JupyterLab's page {hub['login_to_lab_page_s']} s | | |"
        )
        out.append(
            f"| JupyterHub: RSS of a user's server, idle / after browsing {hub['datasets_browsed']} datasets and a download | "
            f"{hub['rss_idle_mb']} / {hub['rss_after_browsing_mb']} MB | | | |"
        )
    scale = result("scale.json")
    if scale:
        lake, se, fi, at, me = scale["lake"], scale["search"], scale["files"], scale["attach"], scale["memory"]
        n = f"{lake['dids']:,}-DID lake"
        out.append(
            f"| {n}: search `opendata:*` type all, first page of 100 | {se['page1_ms']} ms | first 100 DIDs "
            f"streamed by `list_dids` {se['direct_first100_ms']} ms | {se['page1_vs_direct']}× | ≤ 2× |"
        )
        out.append(
            f"| {n}: search, page 10 (by cursor) | {se['page10_ms']} ms | page 1 {se['page1_ms']} ms | "
            f"{se['page10_vs_page1']}× | ≤ 2× |"
        )
        out.append(
            f"| 100,000-file dataset: first page of 100 with availability | {fi['page1_ms']} ms | first 100 names "
            f"streamed by `list_files` {fi['direct_first100_ms']} ms | {fi['page1_vs_direct']}× | ≤ 300 ms and ≤ 2× |"
        )
        out.append(
            f"| 100,000-file dataset: page 500 (offset 49,900) | {fi['page500_ms']} ms | first 100 names "
            f"{fi['direct_first100_ms']} ms; first 50,000 names streamed by `list_files` (Rucio has no offset) "
            f"{fi.get('direct_first50000_ms', '?')} ms | {fi['page500_vs_direct']}× | ≤ 300 ms and ≤ 2× |"
        )
        out.append(
            f"| attach the 100,000-file dataset, stream mode, new process through REST | {at['attach_stream_s']} s | "
            f"`list_files` of all {at['list_files_all_s']} s; {at['checked_against_list_replicas']:,} files checked "
            f"against `list_replicas`: {at['mismatches']} differ | {at.get('attach_vs_list_files', '')}"
            f"{'×' if 'attach_vs_list_files' in at else ''} | ≤ 1.8×, 0 differ |"
        )
        out.append(
            f"| server RSS paging all 100,000 files and 20,000 search results | +{me['growth_mb']} MB "
            f"(idle {me['idle_mb']} MB, peak {me['peak_mb']} MB) | | | ≤ +50 MB |"
        )
    walk = scale and scale.get("walk")
    if walk:
        out.append(
            f"| 100,000-file dataset: every page of 1,000 by cursor through REST, with availability (index built "
            f"on the way / there already) | {walk['walk_first_s']} / {walk['walk_indexed_s']} s | one `list_files` "
            f"of all, rucio-clients direct, {walk['list_files_all_s']} s | {walk['walk_first_vs_list_files']}× / "
            f"{walk['walk_indexed_vs_list_files']}× | ≤ 3× |"
        )
        out.append(
            f"| 100,000-file dataset: first page of 100 with availability, before / after its index | "
            f"{walk['first_page_no_index_ms']} / {walk['first_page_indexed_ms']} ms | | | as fast as without an index |"
        )
    load = result("load.json")
    if load:
        steady, direct = load["steady"]["rest"], load["steady"]["direct"]
        clients = f"{load['clients']} clients × {load['seconds']:.0f} s"
        for kind in ("search", "word search", "files", "DID info", "catalog"):
            r = steady[kind]
            d = direct.get(kind)
            base = (
                f"rucio-clients direct, same load: p50 {d['p50_ms']} / p95 {d['p95_ms']} ms"
                if d
                else "no one Rucio call"
            )
            ratio = f"{r['p50_ms'] / d['p50_ms']:.2f}× (p50)" if d else ""
            out.append(
                f"| {clients}, REST {kind} | p50 {r['p50_ms']} / p95 {r['p95_ms']} ms | {base} | {ratio} | errors 0 |"
            )
        out.append(
            f"| {clients}: all REST requests, errors, server RSS | {steady['requests']} ({steady['per_second']}/s), "
            f"{steady['errors']} errors, RSS {steady['rss_start_mb']} → {steady['rss_end_mb']} MB | | | errors 0 |"
        )
        o = load["outage"]
        out.append(
            f"| {clients} with Rucio's server killed for {o['marks_s']['restarting'] - o['marks_s']['killed']:.0f} s, "
            f"then `lake up` | errors before {o['errors_before']}, during: {o['during'].get('503', 0)} × 503 and "
            f"{o['non_503_errors_during']} other errors, after {o['errors_after']} | | | only 503 during, none after |"
        )
    tokens = result("tokens.json")
    if tokens:
        sel, dl, renewal = tokens["selection"], tokens["download"], tokens["renewal"]
        size = f"{tokens['megabytes']:,.0f} MB, lake --size {tokens['lake_size']}"
        if "https_anonymous_s" in sel:  # the public XRootD's https, anonymous
            https_base, https_ratio = f"its https, anonymous, {sel['https_anonymous_s']} s", sel["ratio_https"]
        else:  # a run from before, against the plain-http storage the lake had then
            https_base, https_ratio = f"plain http storage {sel['http_anonymous_s']} s", sel["ratio_https_vs_http"]
        out.append(
            f"| H→γγ selection streamed from the token storage ({size}): root:// with ztn over TLS / https with "
            f"the token | {sel['root_token_s']} / {sel['https_token_s']} s | the public XRootD without tokens, "
            f"root:// {sel['root_anonymous_s']} s; {https_base} | "
            f"{sel['ratio_root']}× / {https_ratio}× | ≤ 1.1× |"
        )
        r = dl["rucio_download"]
        out.append(
            f"| verified download of {tokens['dataset']} from the token storage ({size}) | {dl['odlake_s']} s | "
            f"`xrdcp --parallel 4 --cksum adler32` with the same token {dl['xrdcp_s']} s; `rucio download` with a "
            f"token: {r['files_downloaded']} of {tokens['files']} files (exit code {r['exit_code']}) | "
            f"{dl['speedup_vs_xrdcp']}× | ≥ 1.0× |"
        )
        out.append(
            f"| renewal of the storage token (lock, refresh grant, files replaced; tokens live "
            f"{tokens['access_token_lifetime_s'] // 60} min) | {renewal['renewal_ms']} ms | one token request to the "
            f"provider {renewal['token_request_ms']} ms | {renewal['ratio']}× | |"
        )
    return "\n".join(out)


def reliability_rows():
    r = result("reliability.json")
    if not r:
        return ""
    out = ["| group | tests | passed | failed | skipped |", "|---|---|---|---|---|"]
    for name, g in r["groups"].items():
        out.append(f"| {name} | {g['tests']} | {g['passed']} | {g['failed']} | {g['skipped']} |")
    faults = r["groups"]["faults"]
    lost = "0" if faults["failed"] == 0 else "unknown: a fault test failed"
    out.append(
        f"\nFaults survived: {faults['passed']} of {faults['tests']}; bytes lost: {lost} (each fault test also "
        "holds that no half-written or corrupted file is taken for a good one). "
        f"Generated cases run: {r['generated_cases_total']:,} "
        f"({', '.join(f'{n:,} in {k.split(chr(58))[-1]}' for k, n in r['generated_cases'].items())}). "
        f"Run of {r['machine']['when']}, {r['seconds']} s, `{r['command']}`."
    )
    return "\n".join(out)


def shaped_rows():
    """Time to the first plot over the shaped link, one row per rate, each against its baseline."""
    shaped = result("shaped.json")
    if not shaped:
        return ""
    out = [
        "| link | first plot, streamed over http:// | over root:// | download, then read (`rucio download` + local read) "
        "| speed-up of streaming (http / root) | bytes over the link, streamed (http / root) | local files, no network |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    total = shaped["megabytes"] * 1e6
    for r in shaped["rows"]:
        link = f"{r['mbit']:,} Mbit/s" if r["mbit"] else "veth, unshaped"
        out.append(
            f"| {link} | {r['first_plot_stream_http_s']} s | {r['first_plot_stream_root_s']} s | "
            f"{r['download_then_read_s']} s ({r['download_s']} + {r['read_local_s']}) | "
            f"{r['first_plot_speedup_stream_http']}× / {r['first_plot_speedup_stream_root']}× | "
            f"{r['stream_http_link_bytes'] / total:.0%} / {r['stream_root_link_bytes'] / total:.0%} of "
            f"{shaped['megabytes']:,.0f} MB ({r['stream_http_requests']} HTTP requests) | {r['read_local_s']} s |"
        )
    return "\n".join(out)


def fill(path, start, end, table):
    text = path.read_text()
    path.write_text(
        re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{table}\n{end}", text, flags=re.S)
    )


def main():
    fill(HERE / "README.md", START, END, rows())
    fill(HERE / "README.md", "<!-- shaped:start -->", "<!-- shaped:end -->", shaped_rows())
    reliability = reliability_rows()
    if reliability:
        fill(HERE.parent / "README.md", "<!-- reliability:start -->", "<!-- reliability:end -->", reliability)
    print(rows())
    print(reliability)


if __name__ == "__main__":
    main()
