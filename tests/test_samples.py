"""The sample generator: the layout of the 2020 release and the physics the HyyAnalysis needs."""

import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from jupyterlab_odlake.lake.samples import SAMPLES, Sample, generate

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))
import hyy

# the branches the H→γγ analysis reads, plus the bookkeeping ones of the release
HYY_BRANCHES = [*hyy.BRANCHES, *hyy.MC_WEIGHTS, "runNumber", "eventNumber", "channelNumber"]


def sample(name):
    return next(s for s in SAMPLES if s.name == name)


@pytest.fixture(scope="module")
def gamgam_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("samples")
    return [generate(sample(f"data_{p}.GamGam.root"), d / f"data_{p}.GamGam.root").path for p in "ABCD"]


def test_file_names_follow_the_release():
    names = {s.name for s in SAMPLES}
    assert {f"data_{p}.GamGam.root" for p in "ABCD"} <= names
    assert "mc_343981.ggH125_gamgam.GamGam.root" in names
    assert "mc_341081.ttH125_gamgam.GamGam.root" in names
    assert {s.analysis for s in SAMPLES} >= {"GamGam", "1lep", "4lep"}


def test_tree_mini_has_the_hyy_branches_in_mev(gamgam_data):
    tree = uproot.open(gamgam_data[0])["mini"]
    assert set(HYY_BRANCHES) <= set(tree.keys())
    pt = tree["photon_pt"].array()
    assert str(ak.type(pt)).endswith("var * float32")
    assert 20_000 < float(ak.mean(ak.firsts(pt))) < 200_000  # tens of GeV, in MeV


def test_generation_is_deterministic(tmp_path):
    s = sample("mc_345319.ZH125J_Zincl_gamgam.GamGam.root")
    a = uproot.open(generate(s, tmp_path / "a.root").path)["mini"].arrays()
    b = uproot.open(generate(s, tmp_path / "b.root").path)["mini"].arrays()
    assert ak.all(ak.flatten(a.photon_pt) == ak.flatten(b.photon_pt))
    assert ak.to_list(a.mcWeight) == ak.to_list(b.mcWeight)


def test_mc_carries_weights_cross_section_and_sum_of_weights(tmp_path):
    s = sample("mc_343981.ggH125_gamgam.GamGam.root")
    out = generate(s, tmp_path / s.name)
    events = uproot.open(out.path)["mini"].arrays(["mcWeight", "XSection", "SumWeights", "channelNumber"])
    assert np.allclose(ak.to_numpy(events.XSection), s.xsec_pb)
    assert np.allclose(ak.to_numpy(events.SumWeights), ak.sum(events.mcWeight), rtol=1e-5)
    assert np.all(ak.to_numpy(events.channelNumber) == 343981)


def test_every_cut_removes_events_and_data_show_the_125_gev_excess(gamgam_data):
    masses = []
    for path in gamgam_data:
        events = uproot.open(path)["mini"].arrays()
        cuts = {name: ak.to_numpy(mask) for name, mask in hyy.cuts(events).items()}
        for name, passed in cuts.items():
            assert 0 < passed.sum() < len(passed), f"cut {name!r} removes nothing or everything"
        selected = events[np.logical_and.reduce(list(cuts.values()))]
        m = ak.to_numpy(hyy.diphoton_mass(selected))
        masses.append(m[(m > 105) & (m < 160)])
    m = np.concatenate(masses)
    counts, edges = np.histogram(m, bins=np.arange(105, 161, 2))
    centres = (edges[:-1] + edges[1:]) / 2
    side = np.abs(centres - 125) > 8
    # falling background fitted on the side bands, excess in the signal window
    coef = np.polyfit(centres[side], np.log(counts[side]), 2)
    expected = np.exp(np.polyval(coef, centres))
    window = np.abs(centres - 125) < 4
    excess = counts[window].sum() - expected[window].sum()
    assert counts[0] > counts[-1]  # a falling spectrum
    assert excess / np.sqrt(expected[window].sum()) > 5


def test_lepton_channels_have_lepton_branches(tmp_path):
    s = sample("mc_345060.ggH125_ZZ4lep.4lep.root")
    tree = uproot.open(generate(s, tmp_path / s.name).path)["mini"]
    assert {"lep_n", "lep_pt", "lep_eta", "lep_charge", "lep_type", "met_et"} <= set(tree.keys())
    assert float(ak.mean(tree["lep_n"].array())) > 3


def test_bench_size_scales_the_big_samples():
    s = sample("data_A.GamGam.root")
    assert s.events_for("bench") >= 100 * s.events_for("small")
    assert isinstance(s, Sample)
