"""The H→γγ selection of the ATLAS Open Data 13 TeV HyyAnalysis, with awkward arrays.

Used by HyyAnalysis.ipynb and hyy_dask.py. The functions take the events of TTree
``mini`` (energies and momenta in MeV) and work the same on awkward and dask-awkward
arrays, so one selection runs in a notebook or on a dask cluster.
"""

from __future__ import annotations

import numpy as np

# branches the selection reads
BRANCHES = [
    "photon_n",
    "photon_pt",
    "photon_eta",
    "photon_phi",
    "photon_E",
    "photon_isTightID",
    "photon_ptcone30",
    "photon_etcone20",
    "trigP",
]
MC_WEIGHTS = [
    "mcWeight",
    "scaleFactor_PILEUP",
    "scaleFactor_PHOTON",
    "scaleFactor_PhotonTRIGGER",
    "XSection",
    "SumWeights",
]

LUMI_FB = 10.0  # 2016 data of the release, in fb^-1
BINS = np.arange(105, 162, 2)  # m_γγ in GeV, 2 GeV bins
LEADING_PT, SUBLEADING_PT = 40.0, 30.0  # GeV
ISOLATION = 0.065
ETA_MAX, CRACK = 2.37, (1.37, 1.52)


def cuts(events):
    """Per event: does it pass each cut of the selection? (a dict of boolean arrays, in order)"""
    import awkward as ak

    pt = events.photon_pt / 1000.0
    abs_eta = abs(events.photon_eta)
    return {
        "trigger": events.trigP,
        "exactly two photons": events.photon_n == 2,
        "tight ID": ak.all(events.photon_isTightID, axis=1),
        "track isolation": ak.all(events.photon_ptcone30 / events.photon_pt < ISOLATION, axis=1),
        "calorimeter isolation": ak.all(events.photon_etcone20 / events.photon_pt < ISOLATION, axis=1),
        "leading pT > 40 GeV": ak.fill_none(ak.firsts(pt) > LEADING_PT, False),
        "subleading pT > 30 GeV": ak.fill_none(ak.firsts(pt[:, 1:]) > SUBLEADING_PT, False),
        "|η| < 2.37, outside the crack": ak.all(
            (abs_eta < ETA_MAX) & ~((abs_eta > CRACK[0]) & (abs_eta < CRACK[1])), axis=1
        ),
    }


def diphoton_mass(events):
    """m_γγ in GeV of events with (at least) two photons."""
    pt, eta, phi = events.photon_pt / 1000.0, events.photon_eta, events.photon_phi
    return np.sqrt(2 * pt[:, 0] * pt[:, 1] * (np.cosh(eta[:, 0] - eta[:, 1]) - np.cos(phi[:, 0] - phi[:, 1])))


def select(events):
    """The selected events and their m_γγ (GeV), kept in the 105-160 GeV window."""
    passed = None
    for mask in cuts(events).values():
        passed = mask if passed is None else passed & mask
    selected = events[passed]
    mass = diphoton_mass(selected)
    window = (mass > BINS[0]) & (mass < BINS[-1])
    return selected[window], mass[window]


def mc_weight(events):
    """Per-event weight of MC: generator weight × scale factors × σ × L / Σw."""
    return (
        events.mcWeight
        * events.scaleFactor_PILEUP
        * events.scaleFactor_PHOTON
        * events.scaleFactor_PhotonTRIGGER
        * events.XSection
        * LUMI_FB
        * 1000.0
        / events.SumWeights
    )


def histogram(mass, weights=None):
    counts, _ = np.histogram(np.asarray(mass), bins=BINS, weights=None if weights is None else np.asarray(weights))
    return counts


def centres():
    return (BINS[:-1] + BINS[1:]) / 2


def background(x, a, b, c, d, e):
    """A falling 4th-order polynomial in (m - 105 GeV)."""
    u = x - BINS[0]
    return a + b * u + c * u**2 + d * u**3 + e * u**4


def signal_plus_background(x, a, b, c, d, e, amplitude, mean, sigma):
    return background(x, a, b, c, d, e) + amplitude * np.exp(-0.5 * ((x - mean) / sigma) ** 2)


def fit(counts):
    """Fit background + Gaussian to the m_γγ histogram; return the parameters and their errors."""
    from scipy.optimize import curve_fit

    x = centres()
    errors = np.sqrt(np.maximum(counts, 1))
    side = np.abs(x - 125) > 6
    start_bkg = np.polyfit(x[side] - BINS[0], counts[side], 4)[::-1]
    p0 = [*start_bkg, max(counts.max() * 0.05, 1.0), 125.0, 2.5]
    params, cov = curve_fit(signal_plus_background, x, counts, p0=p0, sigma=errors, absolute_sigma=True, maxfev=20000)
    names = ["a", "b", "c", "d", "e", "amplitude", "mean", "sigma"]
    return dict(zip(names, params, strict=True)), dict(zip(names, np.sqrt(np.diag(cov)), strict=True))
