"""ATLAS Open Data 13 TeV-style samples for the demo lake.

The real 2020 release cannot be fetched here, so the lake generates files with the
same layout (TTree ``mini``, MeV, jagged ``photon_*`` / ``lep_*`` / ``jet_*`` branches)
and the same physics shape: a falling diphoton spectrum with a small resonance at 125 GeV,
so the public HyyAnalysis code runs on them unchanged. Like the release's files, every
file carries every object (jets, leptons, photons, missing ET, triggers), not only those its
analysis reads: an analysis reads a fraction of a file's bytes, which is what streaming
saves. Generation is seeded by the file name, so every lake holds the same events.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from numpy.random import Generator
from numpy.typing import NDArray

TREE = "mini"
ENERGY_TEV = 13
HIGGS_MASS_GEV = 125.0
HIGGS_WIDTH_GEV = 2.5  # detector resolution, not the natural width
MC_RUN_NUMBER = 284500

# Per-file events at --size small; --size bench multiplies the big samples so that a
# file weighs hundreds of MB, like the real release.
SIZES = {"small": 1, "bench": 120}

Floats = NDArray[np.floating[Any]]  # per event, or per event and object slot
Branches = dict[str, Any]  # a tree's branches: NumPy arrays and awkward arrays (which have no types)


@dataclass(frozen=True)
class Sample:
    """One file of the release: its DID name and the metadata a user searches by."""

    analysis: str  # channel folder of the release: GamGam, 1lep, 4lep
    kind: str  # "data" or "mc"
    physics_short: str  # data_A, ggH125_gamgam, ...
    events: int  # at --size small
    dsid: int | None = None
    xsec_pb: float = 0.0
    lumi_fb: float = 0.0
    period: str = ""
    scales_with_size: bool = True
    also_local: bool = False  # also replicated on the local (mounted) RSE

    @property
    def name(self) -> str:
        if self.kind == "data":
            return f"{self.physics_short}.{self.analysis}.root"
        return f"mc_{self.dsid}.{self.physics_short}.{self.analysis}.root"

    @property
    def dataset(self) -> str:
        return f"{self.analysis}.{'Data' if self.kind == 'data' else 'MC'}"

    @property
    def seed(self) -> int:
        return zlib.crc32(self.name.encode())

    def events_for(self, size: str) -> int:
        return self.events * (SIZES[size] if self.scales_with_size else 1)


def _data(
    analysis: str, period: str, events: int, lumi: float, *, scales_with_size: bool = True, also_local: bool = False
) -> Sample:
    return Sample(
        analysis,
        "data",
        f"data_{period}",
        events,
        lumi_fb=lumi,
        period=period,
        scales_with_size=scales_with_size,
        also_local=also_local,
    )


def _mc(
    analysis: str,
    dsid: int,
    short: str,
    events: int,
    xsec: float,
    *,
    scales_with_size: bool = True,
    also_local: bool = False,
) -> Sample:
    return Sample(
        analysis,
        "mc",
        short,
        events,
        dsid=dsid,
        xsec_pb=xsec,
        scales_with_size=scales_with_size,
        also_local=also_local,
    )


# 10 fb-1 of 2016 data split over four periods, as in the release.
_PERIODS = [("A", 0.5), ("B", 1.9), ("C", 2.9), ("D", 4.7)]

SAMPLES: list[Sample] = [
    *[_data("GamGam", p, 25_000, lumi, also_local=(p == "A")) for p, lumi in _PERIODS],
    _mc("GamGam", 343981, "ggH125_gamgam", 8_000, 0.1102, also_local=True),
    _mc("GamGam", 345041, "VBFH125_gamgam", 4_000, 0.00858),
    _mc("GamGam", 345318, "WpH125J_Wincl_gamgam", 2_000, 0.00189),
    _mc("GamGam", 345319, "ZH125J_Zincl_gamgam", 2_000, 0.00174),
    _mc("GamGam", 341081, "ttH125_gamgam", 2_000, 0.00115),
    *[_data("1lep", p, 6_000, lumi, scales_with_size=False) for p, lumi in _PERIODS[:2]],
    _mc("1lep", 410000, "ttbar_lep", 3_000, 452.69, scales_with_size=False, also_local=True),
    _mc("1lep", 361100, "Wplusenu", 3_000, 11.61, scales_with_size=False),
    *[_data("4lep", p, 2_000, lumi, scales_with_size=False) for p, lumi in _PERIODS[:2]],
    _mc("4lep", 345060, "ggH125_ZZ4lep", 2_000, 0.0060, scales_with_size=False, also_local=True),
    _mc("4lep", 363490, "llll", 2_000, 1.2557, scales_with_size=False),
]

ANALYSES = sorted({s.analysis for s in SAMPLES})


@dataclass
class GeneratedFile:
    sample: Sample
    path: Path
    events: int
    sum_of_weights: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def generate(sample: Sample, path: Path, size: str = "small", chunk: int = 400_000) -> GeneratedFile:
    """Write ``sample`` to ``path`` (a ROOT file with TTree ``mini``) and return its summary."""
    import uproot

    n_total = sample.events_for(size)
    rng = np.random.default_rng(sample.seed)
    others = np.random.default_rng(sample.seed + 1)  # its own stream: the analysis' branches stay as they were
    # Weights first: SumWeights is a per-file constant stored on every event.
    weights = _mc_weights(rng, n_total) if sample.kind == "mc" else np.zeros(n_total, np.float32)
    sum_w = float(weights.sum(dtype=np.float64))
    make = _photon_events if sample.analysis == "GamGam" else _lepton_events

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with uproot.recreate(tmp, compression=uproot.ZLIB(4)) as out:
        for start in range(0, n_total, chunk):
            n = min(chunk, n_total - start)
            branches = _event_header(sample, rng, start, n, weights[start : start + n], sum_w)
            branches.update(make(sample, rng, n))
            branches.update(_other_objects(sample, others, n))
            if start == 0:
                tree = out.mktree(
                    TREE,
                    {
                        key: value.type if isinstance(value, ak.Array) else value.dtype
                        for key, value in branches.items()
                    },
                    title="4-vectors + variables required for scaling factors",
                    counter_name=lambda counted: f"{counted}_n",
                    field_name=lambda outer, inner: inner if outer == "" else f"{outer}_{inner}",
                )
            tree.extend(branches)
    tmp.replace(path)
    return GeneratedFile(sample, path, n_total, sum_w)


def _mc_weights(rng: Generator, n: int) -> NDArray[np.float32]:
    return rng.normal(1.0, 0.25, n).astype(np.float32)


def _event_header(
    sample: Sample, rng: Generator, start: int, n: int, weights: NDArray[np.float32], sum_w: float
) -> Branches:
    mc = sample.kind == "mc"
    if mc:
        run = np.full(n, MC_RUN_NUMBER, np.int32)
        channel = np.full(n, sample.dsid, np.int32)
    else:
        first_run = 297730 + 3000 * "ABCD".index(sample.period)
        run = (first_run + np.sort(rng.integers(0, 2500, n))).astype(np.int32)
        channel = run
    one = np.ones(n, np.float32)

    def scale_factor(width: float) -> NDArray[np.float32]:
        return np.clip(rng.normal(1.0, width, n), 0.8, 1.2).astype(np.float32) if mc else one

    return {
        "runNumber": run,
        "eventNumber": np.arange(start + 1, start + n + 1, dtype=np.int32),
        "channelNumber": channel,
        "mcWeight": weights.astype(np.float32),
        "scaleFactor_PILEUP": scale_factor(0.05),
        "scaleFactor_PHOTON": scale_factor(0.02),
        "scaleFactor_PhotonTRIGGER": scale_factor(0.01),
        "scaleFactor_ELE": scale_factor(0.02),
        "scaleFactor_MUON": scale_factor(0.02),
        "XSection": np.full(n, sample.xsec_pb if mc else 0.0, np.float32),
        "SumWeights": np.full(n, sum_w if mc else 0.0, np.float32),
    }


def _boost(
    e: Floats, px: Floats, py: Floats, pz: Floats, bx: Floats, by: Floats, bz: Floats
) -> tuple[Floats, Floats, Floats, Floats]:
    """Lorentz-boost four-vectors (e, p) by velocity b, element-wise."""
    b2 = bx * bx + by * by + bz * bz
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = bx * px + by * py + bz * pz
    k = np.where(b2 > 0, (gamma - 1.0) * bp / np.where(b2 > 0, b2, 1.0), 0.0) + gamma * e
    return gamma * (e + bp), px + k * bx, py + k * by, pz + k * bz


def _diphotons(rng: Generator, mass: Floats) -> list[tuple[Floats, Floats, Floats, Floats]]:
    """Two photons from the decay of a system of the given masses (GeV), in the lab frame."""
    n = len(mass)
    cos_t = rng.uniform(-1, 1, n)
    sin_t = np.sqrt(1 - cos_t**2)
    phi = rng.uniform(0, 2 * np.pi, n)
    half = mass / 2
    px, py, pz = half * sin_t * np.cos(phi), half * sin_t * np.sin(phi), half * cos_t
    # the diphoton system: soft transverse recoil, central rapidity
    pt_sys = rng.exponential(18.0, n)
    y_sys = rng.normal(0.0, 1.1, n)
    phi_sys = rng.uniform(0, 2 * np.pi, n)
    mt = np.sqrt(mass**2 + pt_sys**2)
    e_sys = mt * np.cosh(y_sys)
    bx, by, bz = pt_sys * np.cos(phi_sys) / e_sys, pt_sys * np.sin(phi_sys) / e_sys, mt * np.sinh(y_sys) / e_sys
    return [_boost(half, sx * px, sx * py, sx * pz, bx, by, bz) for sx in (1, -1)]


def _kinematics(e: Floats, px: Floats, py: Floats, pz: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    pt = np.hypot(px, py)
    return pt, np.arcsinh(pz / pt), np.arctan2(py, px), e


def _photon_events(sample: Sample, rng: Generator, n: int) -> Branches:
    if sample.kind == "mc":
        mass = rng.normal(HIGGS_MASS_GEV, HIGGS_WIDTH_GEV, n)
    else:
        # a smoothly falling continuum plus a small resonance
        signal = rng.random(n) < 0.013
        mass = np.where(signal, rng.normal(HIGGS_MASS_GEV, HIGGS_WIDTH_GEV, n), 80.0 + rng.exponential(32.0, n))
    slots = [_kinematics(*p) for p in _diphotons(rng, mass)]
    # a soft third photon in some events
    pt3 = 8.0 + rng.exponential(12.0, n)
    eta3 = rng.uniform(-2.6, 2.6, n)
    slots.append((pt3, eta3, rng.uniform(-np.pi, np.pi, n), pt3 * np.cosh(eta3)))
    pt, eta, phi, energy = (np.stack([s[i] for s in slots], axis=1) for i in range(4))
    present = np.ones((n, 3), bool)
    present[:, 1] = rng.random(n) > 0.06  # one photon lost
    present[:, 2] = rng.random(n) < 0.10  # an extra photon
    out = _jagged("photon", _photon_fields(rng, pt, eta, phi, energy), present, sort_by="pt")
    out["trigP"] = rng.random(n) < 0.96
    return out


def _photon_fields(rng: Generator, pt: Floats, eta: Floats, phi: Floats, energy: Floats) -> dict[str, NDArray[Any]]:
    shape = pt.shape
    return {
        "pt": pt,
        "eta": eta,
        "phi": phi,
        "E": energy,
        "isTightID": rng.random(shape) < 0.92,
        "ptcone30": pt * _isolation(rng, shape, 0.06),
        "etcone20": pt * _isolation(rng, shape, 0.05),
    }


def _isolation(rng: Generator, shape: tuple[int, ...], fail_fraction: float) -> NDArray[np.float32]:
    """Relative isolation: mostly well below the 0.065 cut, a fraction far above it."""
    fails = rng.random(shape) < fail_fraction
    return np.where(fails, rng.uniform(0.08, 0.6, shape), rng.exponential(0.012, shape)).astype(np.float32)


def _lepton_events(sample: Sample, rng: Generator, n: int) -> Branches:
    wanted = 1 if sample.analysis == "1lep" else 4
    k = wanted + 1
    counts = np.clip(wanted + rng.choice([-1, 0, 0, 0, 0, 0, 1], n), 1, k)
    present = np.arange(k)[None, :] < counts[:, None]
    out = _jagged("lep", _lepton_fields(rng, n, k), present, sort_by="pt")
    out["trigE"] = rng.random(n) < 0.5
    out["trigM"] = ~out["trigE"] | (rng.random(n) < 0.3)
    out["met_et"] = (1000 * rng.exponential(25.0, n)).astype(np.float32)
    out["met_phi"] = rng.uniform(-np.pi, np.pi, n).astype(np.float32)
    return out


def _other_objects(sample: Sample, rng: Generator, n: int) -> Branches:
    """What an event of the release holds beyond its analysis' objects: jets, a few soft leptons or
    photons, missing ET and the other triggers (values with plausible shapes; no analysis cuts on them)."""
    k = 8
    counts = np.minimum(rng.poisson(2.3, n), k)
    pt = 25.0 + rng.exponential(35.0, (n, k))
    eta = np.clip(rng.normal(0.0, 1.8, (n, k)), -4.4, 4.4)
    jets: dict[str, NDArray[Any]] = {
        "pt": pt,
        "eta": eta,
        "phi": rng.uniform(-np.pi, np.pi, (n, k)),
        "E": pt * np.cosh(eta),
        "jvt": rng.uniform(0.0, 1.0, (n, k)).astype(np.float32),
        "trueflav": rng.choice(np.array([0, 4, 5], np.int32), (n, k), p=[0.85, 0.1, 0.05]),
        "truthMatched": rng.random((n, k)) < 0.9,
        "MV2c10": rng.uniform(-1.0, 1.0, (n, k)).astype(np.float32),
    }
    out = _jagged("jet", jets, np.arange(k)[None, :] < counts[:, None], sort_by="pt")
    soft = rng.random((n, 1)) < 0.12  # an extra soft object in some events
    if sample.analysis == "GamGam":
        out.update(_jagged("lep", _lepton_fields(rng, n, 1), soft, sort_by="pt"))
        out["trigE"] = rng.random(n) < 0.2
        out["trigM"] = rng.random(n) < 0.1
        out["met_et"] = (1000 * rng.exponential(25.0, n)).astype(np.float32)
        out["met_phi"] = rng.uniform(-np.pi, np.pi, n).astype(np.float32)
    else:
        pt = 10.0 + rng.exponential(15.0, (n, 1))
        eta = rng.uniform(-2.37, 2.37, (n, 1))
        phi = rng.uniform(-np.pi, np.pi, (n, 1))
        out.update(_jagged("photon", _photon_fields(rng, pt, eta, phi, pt * np.cosh(eta)), soft, sort_by="pt"))
        out["trigP"] = rng.random(n) < 0.05
    return out


def _lepton_fields(rng: Generator, n: int, k: int) -> dict[str, NDArray[Any]]:
    pt = 20.0 + rng.exponential(30.0, (n, k))
    eta = rng.uniform(-2.5, 2.5, (n, k))
    return {
        "pt": pt,
        "eta": eta,
        "phi": rng.uniform(-np.pi, np.pi, (n, k)),
        "E": pt * np.cosh(eta),
        "charge": rng.choice(np.array([-1, 1], np.int32), (n, k)),
        "type": rng.choice(np.array([11, 13], np.uint32), (n, k)),
        "isTightID": rng.random((n, k)) < 0.93,
        "ptcone30": pt * _isolation(rng, (n, k), 0.05),
        "etcone20": pt * _isolation(rng, (n, k), 0.05),
    }


_MEV_FIELDS = {"pt", "E", "ptcone30", "etcone20"}


def _jagged(prefix: str, fields: dict[str, NDArray[Any]], present: NDArray[np.bool_], sort_by: str) -> Branches:
    """(events, slots) arrays -> jagged branches ``<prefix>_<field>``, highest ``sort_by`` first."""
    order = np.argsort(np.where(present, -fields[sort_by], np.inf), axis=1)
    present = np.take_along_axis(present, order, axis=1)
    counts = present.sum(axis=1)
    record = {}
    for name, values in fields.items():
        flat = np.take_along_axis(values, order, axis=1)[present]
        if name in _MEV_FIELDS:
            flat = flat * 1000.0
        if flat.dtype == np.float64:
            flat = flat.astype(np.float32)
        record[name] = ak.unflatten(flat, counts)
    # one record per object: uproot writes it as <prefix>_<field> branches counted by <prefix>_n
    return {prefix: ak.zip(record)}
